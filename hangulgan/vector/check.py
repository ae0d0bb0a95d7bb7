"""Checks a built font must pass: the OpenType Sanitizer (what browsers apply), fontconfig's
view of it (what desktops install), and a raster round trip (that it draws what it should).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hangulgan import hangul
from hangulgan.data.glyphset import GlyphSet
from hangulgan.errors import FontError, VectorError


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


def round_trip(font: str | Path, reference: GlyphSet, worst: int = 5) -> RoundTrip:
    """Render ``font`` at the reference's size with the ``em`` placement and compare ink.

    Code points with ink in the reference that the font does not draw count as IoU 0 and
    are listed as missing."""
    from hangulgan.data.render import render_face

    size = reference.size[0]
    try:
        result = render_face(str(font), reference.codepoints, size=size, placement="em")
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
    order = np.argsort(ious)[:worst]
    return RoundTrip(
        size=size,
        compared=len(ious),
        mean_iou=float(ious.mean()) if len(ious) else 0.0,
        p05_iou=float(np.percentile(ious, 5)) if len(ious) else 0.0,
        worst=[(int(reference.codepoints[i]), float(ious[i])) for i in order],
        missing=missing,
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


def self_reference(path: str | Path, size: int, sample: int, seed: int = 0) -> GlyphSet:
    """Reference images for a font without its source glyph set: the font's own rendering
    at 4× ``size``, box-filtered down. That is its ideal anti-aliased image, so comparing
    it with a plain ``size`` rendering tests that the outlines rasterise consistently."""
    from hangulgan.data.render import render_face

    cps = np.asarray(font_syllables(path), dtype=np.int32)
    if len(cps) > sample:
        cps = np.sort(np.random.default_rng(seed).choice(cps, sample, replace=False))
    big = render_face(str(path), cps, size=size * 4, placement="em")
    small = big.images.reshape(len(big.images), size, 4, size, 4).astype(np.float32)
    images = np.clip(small.mean(axis=(2, 4)) + 0.5, 0, 255).astype(np.uint8)
    return GlyphSet(images=images, codepoints=big.codepoints, name=f"{Path(path).name}@{size}")


def check_font(
    path: str | Path,
    reference: GlyphSet | None = None,
    sizes: tuple[int, ...] = (32,),
    sample: int = 500,
    min_iou: float = 0.9,
) -> FontCheck:
    """Run every check on ``path``. With ``reference`` (the glyph set the font came from) the
    round trip compares against it; without, against the font's own supersampled rendering
    at each of ``sizes`` over ``sample`` syllables."""
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
        refs = (
            [reference]
            if reference is not None
            else [self_reference(path, size, sample) for size in sizes]
        )
        for ref in refs:
            trip = round_trip(path, ref)
            trips.append(trip)
            if trip.mean_iou < min_iou:
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
