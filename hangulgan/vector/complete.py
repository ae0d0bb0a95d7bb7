"""Complete a font: add the Hangul syllables it lacks, drawn in its own style.

The source font is kept as it is — its outlines, metrics, tables and other glyphs, down to
the bounding boxes stored in its glyph headers and the flags in ``head`` — and only glyphs
are added: one per syllable the font does not map, or maps to an empty glyph
(as Baekmuk Dotum does for 8,822 of them). The new glyphs are drawn by the few-shot
generator from the font's own syllables as references (fine-tuned on all of them when
there are many), rendered and inverted with the font's own placement geometry, so they sit
on its baseline at its advance. The result is written only after the OpenType Sanitizer
accepts it, under a family name of its own (:mod:`hangulgan.vector.rename`), so it never
passes for its source once installed beside it.

The font is saved without fontTools' recalculation of bounding boxes: FreeType places a
TrueType glyph by the box in its header (its left phantom point is xMin − lsb), so a
recalculated box would move every kept glyph whose stored box is stale, as in fonts whose
composite glyphs an older tool wrote. Only the added glyphs get boxes computed, and the
font-wide values (``head`` box, ``maxp`` and ``hhea`` extremes) grow to hold them.

TrueType ('glyf') fonts only: a CFF font is refused with a clear message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hangulgan import hangul
from hangulgan.data.glyphset import GlyphSet
from hangulgan.errors import AdaptationDiverged, ConfigError, VectorError
from hangulgan.io import atomic_path

# Tables that count glyphs or hold per-glyph device data: stale once glyphs are added, and
# optional, so they are dropped rather than left wrong.
_STALE_TABLES = ("hdmx", "LTSH", "VDMX", "DSIG")


@dataclass
class CompletionReport:
    """What :func:`complete_font` did."""

    source: Path
    out: Path
    had: int  # syllables the font drew
    added: int  # syllables added
    unmapped: int  # of those: not in the cmap
    empty: int  # of those: mapped to an empty glyph
    skipped: list[tuple[int, str]] = field(default_factory=list)  # traced to nothing
    finetune_steps: int = 0
    adapt_steps: int = 0  # adaptation to the references (fonts under the fine-tuning minimum)
    references: str = ""
    family: str = ""  # the completed font's family name
    postscript_name: str = ""
    ots: str = ""
    timings: dict[str, float] = field(default_factory=dict)


def font_hangul(path: str | Path, face_index: int = 0, size: int = 32) -> tuple[Any, Any]:
    """Render every syllable of a font with the corpus ``em`` placement.

    Returns the :class:`~hangulgan.data.render.RenderResult` (drawn, missing, empty, and
    the font's placement geometry) and the glyph set of the syllables it draws.
    """
    from hangulgan.data.render import FaceRenderer

    renderer = FaceRenderer(str(path), face_index, size, "em")
    result = renderer.render(hangul.all_syllables())
    glyphs = GlyphSet(
        images=result.images,
        codepoints=result.codepoints,
        name=Path(path).stem,
        meta=result.placement_meta(),
    )
    return result, glyphs


def _check_truetype(font: Any, path: Path) -> None:
    if "glyf" not in font:
        kind = "CFF (PostScript) outlines" if "CFF " in font or "CFF2" in font else "no glyf table"
        raise ConfigError(
            f"{path}: has {kind}; complete adds TrueType glyphs and supports TrueType "
            "(.ttf) fonts only"
        )


def grow_font_extremes(font: Any, glyphs: list[Any], advance: int, height: int) -> None:
    """Widen the font-wide values fontTools would recompute from every glyph (the ``head``
    box; ``maxp`` points and contours; ``hhea`` and ``vhea`` extremes) just enough to hold
    the added simple ``glyphs`` of ``advance`` (left side bearing = xMin, as added) and
    vertical advance ``height``, leaving everything the kept glyphs set as it was."""
    inked = [g for g in glyphs if g.numberOfContours > 0]
    if not inked:
        return
    head, maxp, hhea = font["head"], font["maxp"], font["hhea"]
    head.xMin = min(head.xMin, *(g.xMin for g in inked))
    head.yMin = min(head.yMin, *(g.yMin for g in inked))
    head.xMax = max(head.xMax, *(g.xMax for g in inked))
    head.yMax = max(head.yMax, *(g.yMax for g in inked))
    if hasattr(maxp, "maxPoints"):  # version 1.0: a TrueType maxp
        maxp.maxPoints = max(maxp.maxPoints, *(len(g.coordinates) for g in inked))
        maxp.maxContours = max(maxp.maxContours, *(g.numberOfContours for g in inked))
    hhea.advanceWidthMax = max(hhea.advanceWidthMax, advance)
    hhea.minLeftSideBearing = min(hhea.minLeftSideBearing, *(g.xMin for g in inked))
    hhea.minRightSideBearing = min(hhea.minRightSideBearing, *(advance - g.xMax for g in inked))
    hhea.xMaxExtent = max(hhea.xMaxExtent, *(g.xMax for g in inked))
    if "vhea" in font:  # added glyphs get vertical advance ``height`` and top bearing 0
        vhea = font["vhea"]
        vhea.advanceHeightMax = max(vhea.advanceHeightMax, height)
        vhea.minTopSideBearing = min(vhea.minTopSideBearing, 0)
        vhea.minBottomSideBearing = min(
            vhea.minBottomSideBearing, *(height - (g.yMax - g.yMin) for g in inked)
        )
        vhea.yMaxExtent = max(vhea.yMaxExtent, *(g.yMax - g.yMin for g in inked))


def complete_font(
    source: str | Path,
    out: str | Path,
    generator: Any,
    finetune_steps: int = 200,
    finetune_min: int = 256,
    adapt_steps: int | None = None,
    references: int = 64,
    workers: int = 1,
    face_index: int = 0,
    force: bool = False,
    charset: list[int] | None = None,
    progress: Callable[[str], None] | None = None,
    family: str | None = None,
    bars: bool = False,
) -> CompletionReport:
    """Add the syllables ``source`` lacks and write the font to ``out`` (see the module).

    ``generator`` is a :class:`~hangulgan.models.styled_inference.StyledGenerator`. It is
    fine-tuned for ``finetune_steps`` on the font's own glyphs when the font draws at least
    ``finetune_min`` syllables; the style comes from up to ``references`` of them. A font
    drawing fewer (but at least two) gets adaptation to those references instead, as
    ``generate --adapt`` does, for ``adapt_steps`` (None: the default; none when
    ``finetune_steps`` is 0); when that diverges, the
    unadapted generator draws, with a message.
    ``charset`` limits what is added (default: all 11,172 syllables). ``family`` names the
    completed font (default: the source's family followed by "Complete"). ``progress``
    receives one-line status messages; ``bars`` draws progress bars on stderr for the
    fine-tuning, drawing and tracing.
    """
    import time

    from fontTools.ttLib import TTFont
    from fontTools.ttLib.tables._g_l_y_f import Glyph
    from tqdm import tqdm

    from hangulgan.models.styled_fewshot import choose_references
    from hangulgan.vector.check import sanitize
    from hangulgan.vector.files import check_replaceable
    from hangulgan.vector.geometry import UPM
    from hangulgan.vector.rename import is_completed_font, rename_family
    from hangulgan.vector.trace import TraceParams
    from hangulgan.vector.tracepool import SkippedGlyph, trace_glyphs

    say = progress or (lambda _message: None)
    source, out = Path(source), Path(out)
    if not source.is_file():
        raise ConfigError(f"{source}: no such font file")
    if out.resolve() == source.resolve():
        raise ConfigError(f"{out}: is the source font; write the completed font elsewhere")
    # --force replaces only a font complete wrote before, never a user's file
    check_replaceable(out, force, is_completed_font, "a font complete made")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    try:
        # recalcBBoxes off: what is kept is saved as stored (see the module docstring)
        font = TTFont(str(source), fontNumber=face_index, recalcBBoxes=False)
    except Exception as err:  # noqa: BLE001 - fontTools raises many kinds on a bad file
        raise ConfigError(f"{source}: not a font fontTools can read ({err})") from None
    _check_truetype(font, source)
    # renamed (in memory) now, so that a bad --family fails before minutes of drawing
    names = rename_family(font, family, str(source), float(font["head"].fontRevision))
    result, drawn = font_hangul(source, face_index, generator.size[0])
    missing = [int(cp) for cp in result.missing]
    empty = [int(cp) for cp in result.empty]
    wanted = set(hangul.all_syllables() if charset is None else charset)
    todo = np.asarray(sorted(cp for cp in missing + empty if cp in wanted), dtype=np.int64)
    report = CompletionReport(source, out, len(drawn), len(todo), len(missing), len(empty))
    report.family, report.postscript_name = names.family, names.postscript_name
    if not len(todo):
        return report
    if len(drawn) < 1:
        raise ConfigError(f"{source}: draws no Hangul syllable to take its style from")
    timings["render"] = time.perf_counter() - started
    if finetune_steps > 0 and len(drawn) >= finetune_min:
        say(f"fine-tuning on the font's {len(drawn)} syllables ({finetune_steps} steps)")
        generator = generator.finetune(drawn, finetune_steps, progress=bars)
        report.finetune_steps = finetune_steps
    refs = choose_references(drawn, min(references, len(drawn)), exclude=set())
    report.references = "".join(map(chr, refs))
    ref_images = np.stack([drawn.image(cp) for cp in refs])
    if finetune_steps > 0 and not report.finetune_steps and len(refs) >= 2:
        say(f"adapting to the font's {len(refs)} references")
        try:
            generator = generator.adapted(
                ref_images, refs, steps=adapt_steps, progress=bars, label=str(source)
            )
            report.adapt_steps = int(generator.meta["adapted"]["steps"])
        except AdaptationDiverged as err:
            say(f"warning: {source}: {err}; drawing without adaptation")
    timings["finetune"] = time.perf_counter() - started - sum(timings.values())
    style = generator.style_from_images(ref_images, refs, label=source.name)
    say(f"drawing {len(todo)} syllables in the style of {len(refs)} references")
    with tqdm(total=len(todo), unit="glyph", desc="drawing", disable=not bars, leave=False) as bar:
        images = generator.draw(style, todo, progress=bar.update)
    timings["draw"] = time.perf_counter() - started - sum(timings.values())
    geometry = result.geometry
    with tqdm(total=len(todo), unit="glyph", desc="tracing", disable=not bars, leave=False) as bar:
        traced = trace_glyphs(
            images,
            todo.astype(np.int32),
            TraceParams(),
            "ttf",
            workers=workers,
            geometry=geometry,
            progress=bar.update,
        )
    timings["trace"] = time.perf_counter() - started - sum(timings.values())
    upm = int(font["head"].unitsPerEm)
    scale = upm / UPM
    advance = int(geometry.advance)
    glyf, hmtx = font["glyf"], font["hmtx"]
    order = font.getGlyphOrder()
    taken = set(order)
    added: dict[int, str] = {}
    for item in traced:
        if isinstance(item, SkippedGlyph):
            report.skipped.append((int(item.codepoint), item.reason))
            continue
        glyph = Glyph(item.data)
        glyph.expand(glyf)
        if scale != 1:
            glyph.coordinates.scale((scale, scale))
            glyph.coordinates.toInt()
        glyph.recalcBounds(glyf)
        name = f"uni{item.codepoint:04X}"
        while name in taken:
            name += ".hg"
        taken.add(name)
        order.append(name)
        glyf.glyphs[name] = glyph
        hmtx.metrics[name] = (advance, int(getattr(glyph, "xMin", 0)))
        if "vmtx" in font:
            font["vmtx"].metrics[name] = (upm, 0)
        added[int(item.codepoint)] = name
    grow_font_extremes(font, [glyf.glyphs[name] for name in added.values()], advance, upm)
    font.setGlyphOrder(order)
    glyf.glyphOrder = order
    for table in font["cmap"].tables:
        if table.isUnicode() and (table.format != 4 or all(cp <= 0xFFFF for cp in added)):
            table.cmap.update(added)
    for tag in _STALE_TABLES:
        if tag in font:
            del font[tag]
    report.added = len(added)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out, suffix=out.suffix) as tmp:
            font.save(str(tmp))
            report.ots = sanitize(tmp, label=str(out))
    except OSError as err:
        raise VectorError(f"{out}: cannot write the font ({err.strerror or err})") from None
    timings["assemble+save+ots"] = time.perf_counter() - started - sum(timings.values())
    report.timings = timings
    return report
