"""From the written syllables to an installable font: the styled generator draws the rest of
the face in their style, the written syllables stay as written, ``export-ttf``'s builder
traces it all (borrowing Latin and punctuation from a fallback font) and ``check-font``'s
checks run on the result.

This is the one place ``from-scan --font`` goes through (:func:`handwriting_font`); it calls
the library functions ``generate``, ``export-ttf`` and ``check-font`` call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hangulgan import hangul
from hangulgan.data.glyphset import GlyphSet
from hangulgan.errors import AdaptationDiverged, ConfigError
from hangulgan.models.styled_config import DEFAULT_ADAPT_STEPS
from hangulgan.scan import ScanError

DEFAULT_FAMILY = "My Hand"


@dataclass
class FontReport:
    """What :func:`handwriting_font` made."""

    path: Path
    family: str
    written: int  # syllables kept as written
    drawn: int  # syllables the generator drew
    fallback: Path | None
    build: Any  # hangulgan.vector.fontbuild.BuildReport
    check: Any  # hangulgan.vector.check.FontCheck
    timings: dict[str, float] = field(default_factory=dict)


def generator_placement(run: str | Path | None = None) -> dict[str, Any]:
    """The placement meta (``placement`` and ``geometry``) of the styled generator's corpus:
    the convention the written glyphs are mapped into, so that generation, export and the
    written glyphs all agree. The shipped weights' is read from their header alone."""
    if run is None:
        import json

        from hangulgan.models.styled_weights import SHIPPED_WEIGHTS, WHAT
        from hangulgan.train.weights import read_header

        info = json.loads(read_header(SHIPPED_WEIGHTS, WHAT).get("info", "{}"))
        placement = info.get("meta", {}).get("placement", {})
    else:
        from hangulgan.models.styled_inference import StyledGenerator

        placement = StyledGenerator.load(run).meta.get("placement", {})
    if "geometry" not in placement:
        where = run or "the shipped styled weights"
        raise ConfigError(f"{where}: records no placement geometry to map the writing into")
    return dict(placement)


def default_fallback_font() -> Path | None:
    """A font to borrow Latin, punctuation and the compatibility jamo from: the first
    TrueType Korean font fontconfig lists (NanumGothic preferred); None when there is none."""
    from hangulgan.scan.template import korean_truetype_font

    return korean_truetype_font()


def keep_written(drawn: GlyphSet, written: GlyphSet) -> GlyphSet:
    """``drawn`` with the glyphs of the syllables in ``written`` replaced by the written ones
    (the user's own drawing beats the generator's guess at it)."""
    if drawn.size != written.size:
        raise ConfigError(
            f"{written.name}: {written.size[0]}×{written.size[1]} glyphs, the generator draws "
            f"{drawn.size[0]}×{drawn.size[1]}"
        )
    images = np.array(drawn.images)
    codepoints = drawn.codepoints.tolist()
    position = {cp: i for i, cp in enumerate(codepoints)}
    extra_images, extra_cps = [], []
    for image, cp in zip(written.images, written.codepoints.tolist(), strict=True):
        if cp in position:
            images[position[cp]] = image
        else:  # written but outside the charset asked for: kept all the same
            extra_images.append(image)
            extra_cps.append(cp)
    if extra_cps:
        images = np.concatenate([images, np.stack(extra_images)])
        codepoints = codepoints + extra_cps
    meta = dict(drawn.meta) | {"written": written.text}
    return GlyphSet(images, np.asarray(codepoints, dtype=np.int32), drawn.name, meta)


def handwriting_font(
    written: GlyphSet,
    out: str | Path,
    *,
    family: str = DEFAULT_FAMILY,
    run: str | Path | None = None,
    charset: Sequence[int] | None = None,
    adapt_steps: int = DEFAULT_ADAPT_STEPS,
    fallback: str | Path | None = None,
    workers: int = 2,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    glyph_progress: Callable[[int], None] | None = None,
) -> FontReport:
    """Make an installable font at ``out`` in the hand of ``written`` (a glyph set read from
    a sheet, in the generator's placement).

    The styled generator (``run``, default the shipped weights) takes its style from the
    written syllables and draws every syllable of ``charset`` (default all 11,172), after
    ``adapt_steps`` of adaptation to them (0: none; one that diverges is reported and the
    unadapted generator draws). The written syllables replace the drawn
    ones. ``export-ttf``'s builder traces the face with ``fallback`` (a font file) lending
    Latin, punctuation and compatibility jamo, under family name ``family``; then
    ``check-font``'s checks run. ``out`` is checked first: with ``force`` only a font
    export-ttf made is replaced."""
    from hangulgan.models.styled_inference import StyledGenerator
    from hangulgan.vector.check import check_font
    from hangulgan.vector.files import check_replaceable
    from hangulgan.vector.fontbuild import build_font
    from hangulgan.vector.names import FontInfo, is_exported_font

    say = progress or (lambda message: None)
    out = Path(out)
    info = FontInfo(family=family)
    info.validate()
    check_replaceable(out, force, is_exported_font, "a font export-ttf made")
    if fallback is not None and not Path(fallback).is_file():
        raise ConfigError(f"{fallback}: no such fallback font")
    if len(written) == 0:
        raise ScanError(f"{written.name}: no written syllable to take the style from")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    generator = StyledGenerator.load(run)
    placement = {k: written.meta[k] for k in ("placement", "geometry") if k in written.meta}
    if placement.get("geometry") != generator.meta.get("placement", {}).get("geometry"):
        raise ConfigError(
            f"{written.name}: the writing was placed for another generator's geometry; read "
            "the sheet again with the same --run"
        )
    if adapt_steps:
        say(f"adapting to the {len(written)} written syllables ({adapt_steps} steps)")
        try:
            generator = generator.adapted(
                np.asarray(written.images),
                written.codepoints.tolist(),
                steps=adapt_steps,
                label=written.name,
            )
        except AdaptationDiverged as err:
            say(f"warning: {written.name}: {err}; drawing without adaptation")
    style = generator.style_from_images(
        np.asarray(written.images), written.codepoints.tolist(), label=f"{family} (written)"
    )
    codepoints = list(charset) if charset is not None else hangul.all_syllables()
    say(f"drawing {len(codepoints):,} syllables in the style of {len(written)} written ones")
    drawn = generator.glyphset(
        style, codepoints, name=family, progress=glyph_progress, placement=placement
    )
    glyphs = keep_written(drawn, written)
    timings["generate"] = time.perf_counter() - started
    started = time.perf_counter()
    say(f"tracing {len(glyphs):,} glyphs into {out}")
    build = build_font(
        glyphs, out, info=info, workers=workers, fallback=fallback, label=written.name
    )
    timings["export"] = time.perf_counter() - started
    started = time.perf_counter()
    check = check_font(out)
    timings["check"] = time.perf_counter() - started
    return FontReport(
        path=Path(build.path),
        family=family,
        written=len(written),
        drawn=len(glyphs) - len(written),
        fallback=Path(fallback) if fallback is not None else None,
        build=build,
        check=check,
        timings=timings,
    )
