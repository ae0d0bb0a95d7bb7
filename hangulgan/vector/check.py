"""Checks a built font must pass: the OpenType Sanitizer (what browsers apply), fontconfig's
view of it (what desktops install), and a raster round trip (that it draws what it should).

The round trip that matters is against the source font file (:func:`font_round_trip`):
both fonts rendered by FreeType, unhinted, on one baseline with the pen at one point, each
glyph placed by its own bearings, so a glyph that sits higher, lower or further right than
in the source loses ink overlap. Comparing with the glyph set a font came from
(:func:`round_trip`) re-renders the font under the glyph set's own recorded geometry: it
checks the tracing, not the placement.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hangulgan import hangul
from hangulgan.data.glyphset import GlyphSet
from hangulgan.errors import FontError, VectorError
from hangulgan.vector.geometry import export_geometry

if TYPE_CHECKING:
    from hangulgan.data.render import FaceRenderer


def sanitize(path: str | Path, label: str | None = None) -> str:
    """Run the OpenType Sanitizer on ``path``; raise VectorError if it rejects the font.

    Returns OTS's own messages (empty when it had nothing to say). ``label`` names the file
    in the error when ``path`` is a temporary file.
    """
    import ots

    label = label or str(path)
    result = ots.sanitize(str(path), capture_output=True)
    messages = (result.stdout + result.stderr).decode("utf-8", "replace").strip()
    if result.returncode != 0:
        first = messages.splitlines()[0] if messages else f"exit code {result.returncode}"
        raise VectorError(f"{label}: rejected by the OpenType Sanitizer ({first})")
    return messages


@dataclass
class FontconfigView:
    """What ``fc-query`` reports about a font file."""

    family: list[str]
    style: list[str]
    langs: list[str]
    fontformat: str


def fc_query(path: str | Path) -> FontconfigView:
    """Ask fontconfig's ``fc-query`` what it sees in a font file (first face)."""
    exe = shutil.which("fc-query")
    if exe is None:
        raise VectorError("fc-query not found: install fontconfig (apt install fontconfig)")
    fmt = "%{family}\\n%{style}\\n%{lang}\\n%{fontformat}\\n"
    result = subprocess.run(
        [exe, "--index", "0", "--format", fmt, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = result.stdout.split("\n")
    if result.returncode != 0 or len(lines) < 4:
        reason = result.stderr.strip().splitlines()[:1] or [f"exit code {result.returncode}"]
        raise VectorError(f"{path}: fontconfig cannot read the font ({reason[0]})")
    return FontconfigView(
        family=[s for s in lines[0].split(",") if s],
        style=[s for s in lines[1].split(",") if s],
        langs=[s for s in lines[2].split("|") if s],
        fontformat=lines[3],
    )


def ink_iou(a: np.ndarray, b: np.ndarray, threshold: int = 128) -> np.ndarray:
    """Per-image IoU of the ink (pixels ≥ ``threshold``) of two (N, H, W) uint8 stacks.

    Two images without ink agree perfectly (IoU 1)."""
    ink_a = a >= threshold
    ink_b = b >= threshold
    inter = (ink_a & ink_b).reshape(len(a), -1).sum(axis=1)
    union = (ink_a | ink_b).reshape(len(a), -1).sum(axis=1)
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


@dataclass
class RoundTrip:
    """A comparison of a font's rendering with reference images."""

    size: int
    compared: int
    mean_iou: float
    p05_iou: float
    worst: list[tuple[int, float]]
    missing: list[int] = field(default_factory=list)
    reference: str = ""  # what the font was compared with
    # syllables whose advance differs from the reference font's by more than 1/1000 em
    advance_mismatches: int = 0


def _summarise(
    size: int, codepoints: np.ndarray, ious: np.ndarray, worst: int, **extra: Any
) -> RoundTrip:
    order = np.argsort(ious, kind="stable")[:worst]
    return RoundTrip(
        size=size,
        compared=len(ious),
        mean_iou=float(ious.mean()) if len(ious) else 0.0,
        p05_iou=float(np.percentile(ious, 5)) if len(ious) else 0.0,
        worst=[(int(codepoints[i]), float(ious[i])) for i in order],
        **extra,
    )


def _renderer(path: str | Path, size: int, **placement: Any) -> FaceRenderer:
    from hangulgan.data.render import FaceRenderer

    try:
        return FaceRenderer(str(path), 0, size, "em", **placement)
    except FontError as err:
        raise VectorError(str(err)) from None


def _render_all(renderer: FaceRenderer, codepoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Images of every code point (blank where the font draws none) and advances in em."""
    try:
        result = renderer.render(codepoints)
    except FontError as err:
        raise VectorError(str(err)) from None
    canvas = renderer.canvas
    images = np.zeros((len(codepoints), canvas, canvas), dtype=np.uint8)
    advances = np.full(len(codepoints), np.nan)
    where = np.searchsorted(codepoints, result.codepoints)
    images[where] = result.images
    advances[where] = result.advances / renderer.face.units_per_EM
    return images, advances


def font_round_trip(
    font: str | Path,
    reference_font: str | Path,
    size: int = 32,
    codepoints: list[int] | np.ndarray | None = None,
    worst: int = 5,
    chunk: int = 1024,
) -> RoundTrip:
    """Mean ink IoU of ``font`` against the source font file ``reference_font`` over the
    Hangul syllables both map (or those of ``codepoints``), ``size`` px per em.

    Both are rendered by FreeType, unhinted, on a canvas of two ems with the baseline 1.5
    em below its top and the pen half an em from its left edge: each glyph lands where its
    own outline and bearings put it relative to the baseline and the pen, as in running
    text. A syllable one font draws and the other leaves blank scores 0."""
    shared = sorted(set(font_syllables(font)) & set(font_syllables(reference_font)))
    if codepoints is not None:
        shared = sorted(set(shared) & {int(cp) for cp in codepoints})
    cps = np.asarray(shared, dtype=np.int32)
    layout = {"canvas": 2 * size, "baseline_row": size * 3 // 2, "origin_x": size // 2}
    ours = _renderer(font, size, **layout)
    theirs = _renderer(reference_font, size, **layout)
    ious = np.zeros(len(cps))
    mismatched = 0
    for begin in range(0, len(cps), chunk):
        part = cps[begin : begin + chunk]
        a, adv_a = _render_all(ours, part)
        b, adv_b = _render_all(theirs, part)
        ious[begin : begin + len(part)] = ink_iou(a, b)
        both = ~np.isnan(adv_a) & ~np.isnan(adv_b)
        mismatched += int((np.abs(adv_a[both] - adv_b[both]) > 1e-3).sum())
    return _summarise(
        size,
        cps,
        ious,
        worst,
        reference=str(reference_font),
        advance_mismatches=mismatched,
    )


def round_trip(font: str | Path, reference: GlyphSet, worst: int = 5) -> RoundTrip:
    """Render ``font`` under the reference glyph set's recorded geometry (its baseline row;
    each glyph's advance centred) and compare ink: how faithfully the glyphs were traced.

    Code points with ink in the reference that the font does not draw count as IoU 0 and
    are listed as missing."""
    size = reference.size[0]
    geometry = export_geometry(reference)[0]
    renderer = _renderer(font, size, baseline_row=geometry.baseline_row)
    try:
        result = renderer.render(reference.codepoints)
    except FontError as err:
        raise VectorError(str(err)) from None
    drawn = {cp: i for i, cp in enumerate(result.codepoints.tolist())}
    images = np.asarray(reference.images)
    rendered = np.zeros_like(images)
    missing = []
    has_ink = (images >= 128).reshape(len(images), -1).any(axis=1)
    for i, cp in enumerate(reference.codepoints.tolist()):
        j = drawn.get(cp)
        if j is not None:
            rendered[i] = result.images[j]
        elif has_ink[i]:
            missing.append(cp)
    # an undrawn glyph compares as a blank image: IoU 0 against ink, 1 against a blank
    ious = ink_iou(images, rendered)
    return _summarise(
        size, reference.codepoints, ious, worst, missing=missing, reference=reference.name
    )


@dataclass
class FontCheck:
    """The outcome of :func:`check_font`."""

    path: Path
    ots_ok: bool
    ots_message: str
    fontconfig: FontconfigView | None
    fontconfig_error: str
    syllables: int
    full_set: bool
    korean_ok: bool
    round_trips: list[RoundTrip]
    problems: list[str]

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return not self.problems


def font_syllables(path: str | Path) -> list[int]:
    """The Hangul syllables a font maps."""
    from fontTools.ttLib import TTFont, TTLibError

    try:
        with TTFont(str(path), lazy=True, fontNumber=0) as font:
            cmap = font.getBestCmap() or {}
    except (TTLibError, OSError, AssertionError, KeyError) as err:
        raise VectorError(f"{path}: not a readable font ({err})") from None
    return sorted(cp for cp in cmap if hangul.is_syllable(cp))


def self_round_trip(
    path: str | Path, size: int, sample: int, seed: int = 0, worst: int = 5
) -> RoundTrip:
    """A font without a reference against itself: its ``size`` px rendering against its
    own 4× rendering box-filtered down (its ideal anti-aliased image), both with the same
    baseline and pen, over ``sample`` syllables: the outlines rasterise consistently."""
    cps = np.asarray(font_syllables(path), dtype=np.int32)
    if len(cps) > sample:
        cps = np.sort(np.random.default_rng(seed).choice(cps, sample, replace=False))
    plain = _renderer(path, size)
    assert plain.geometry is not None
    baseline, origin = plain.geometry.baseline_row, plain.geometry.origin_x()
    small, _ = _render_all(_renderer(path, size, baseline_row=baseline, origin_x=origin), cps)
    big, _ = _render_all(
        _renderer(path, size * 4, baseline_row=baseline * 4, origin_x=origin * 4), cps
    )
    boxed = big.reshape(len(big), size, 4, size, 4).astype(np.float32).mean(axis=(2, 4))
    ideal = np.clip(boxed + 0.5, 0, 255).astype(np.uint8)
    return _summarise(size, cps, ink_iou(ideal, small), worst, reference="itself at 4x")


def check_font(
    path: str | Path,
    reference: GlyphSet | None = None,
    sizes: tuple[int, ...] = (32,),
    sample: int = 500,
    min_iou: float = 0.9,
    reference_font: str | Path | None = None,
) -> FontCheck:
    """Run every check on ``path``. The round trip compares, at each of ``sizes``, with
    ``reference_font`` (the source font file) over every syllable both map; else with
    ``reference`` (the glyph set the font came from); else with the font's own
    supersampled rendering over ``sample`` syllables."""
    path = Path(path)
    if not path.is_file():
        raise VectorError(f"{path}: no such font file")
    problems: list[str] = []
    try:
        ots_message = sanitize(path)
        ots_ok = True
    except VectorError as err:
        ots_message, ots_ok = str(err), False
        problems.append(ots_message)
    syllables = font_syllables(path)
    full_set = len(syllables) == hangul.N_SYLLABLES
    view: FontconfigView | None = None
    fc_error = ""
    try:
        view = fc_query(path)
    except VectorError as err:
        fc_error = str(err)
        problems.append(fc_error)
    korean_ok = bool(view and "ko" in view.langs)
    if view is not None and not view.family:
        problems.append(f"{path}: fontconfig finds no family name")
    if view is not None and full_set and not korean_ok:
        problems.append(
            f"{path}: holds all 11,172 syllables but fontconfig does not list 'ko' "
            "(it also wants the compatibility jamo U+3131-318E: export with --fallback-font)"
        )
    trips: list[RoundTrip] = []
    if not syllables:
        problems.append(f"{path}: maps no Hangul syllable")
    elif ots_ok:
        if reference_font is not None:
            trips = [font_round_trip(path, reference_font, size) for size in sizes]
        elif reference is not None:
            trips = [round_trip(path, reference)]
        else:
            trips = [self_round_trip(path, size, sample) for size in sizes]
        for trip in trips:
            if not trip.compared:
                problems.append(f"{path}: maps no Hangul syllable that {trip.reference} maps")
            elif trip.mean_iou < min_iou:
                problems.append(
                    f"{path}: round trip at {trip.size} px has mean IoU {trip.mean_iou:.3f} "
                    f"(< {min_iou})"
                )
    return FontCheck(
        path=path,
        ots_ok=ots_ok,
        ots_message=ots_message,
        fontconfig=view,
        fontconfig_error=fc_error,
        syllables=len(syllables),
        full_set=full_set,
        korean_ok=korean_ok,
        round_trips=trips,
        problems=problems,
    )
