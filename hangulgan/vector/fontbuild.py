"""Glyph set → installable TrueType (or CFF OpenType) font, with fontTools.

The glyph images are traced and compiled in a pool of workers
(:mod:`hangulgan.vector.tracepool`, :mod:`hangulgan.vector.outlines`): overlaps removed and
contours oriented by ``pathops.simplify`` (clockwise outer contours for TrueType,
counter-clockwise for CFF), cubics made quadratic for TrueType. The tables around them are
assembled by :mod:`hangulgan.vector.assemble` from the names in
:class:`~hangulgan.vector.names.FontInfo`, and the file appears only once the OpenType
Sanitizer accepts it.

Placement is the inverse of the glyph set's recorded geometry
(:mod:`hangulgan.vector.geometry`): each glyph gets its source advance, and the font gets
its source's vertical metrics, scaled to UPM 1000. So the font sets each glyph where the
source font had it, relative to the baseline and the pen.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pathops
from fontTools.pens.transformPen import TransformPen
from fontTools.ttLib import TTFont

from hangulgan.data.glyphset import GlyphSet
from hangulgan.errors import VectorError
from hangulgan.io import atomic_path
from hangulgan.vector import check
from hangulgan.vector.assemble import assemble_font
from hangulgan.vector.files import check_output_path, readable_by_all
from hangulgan.vector.geometry import UPM, export_geometry, font_units
from hangulgan.vector.names import FontInfo
from hangulgan.vector.outlines import OutlineOverflow, compile_cff_glyph, compile_ttf_glyph
from hangulgan.vector.trace import TraceParams
from hangulgan.vector.tracepool import CHUNK, SkippedGlyph, trace_glyphs

FORMATS = ("ttf", "otf")
COMPAT_JAMO = range(0x3131, 0x318F)
BASIC_LATIN = range(0x20, 0x7F)


@dataclass
class BuildReport:
    """What :func:`build_font` did."""

    path: Path
    format: str
    glyphs: int
    mapped: list[int]
    skipped: list[SkippedGlyph]
    borrowed: list[int]
    points_per_glyph: float
    seconds: float
    trace_seconds: float
    workers: int
    params: TraceParams
    family: str
    ots: str = ""
    cpu_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


# ----------------------------------------------------------------------------- borrowing


def borrow_glyphs(
    fallback: str | Path, codepoints: list[int], fmt: str
) -> dict[int, tuple[Any, int, tuple[int, int, int, int], int, int]]:
    """Outlines of ``codepoints`` from a fallback font, scaled to UPM 1000.

    Returns code point → (compiled data, advance, bounds, points, contours); code points the
    fallback lacks are left out. Empty glyphs (space) come back with no outline.
    """
    fallback = Path(fallback)
    try:
        font = TTFont(str(fallback), fontNumber=0, lazy=True)
        cmap = font.getBestCmap() or {}
        glyphset = font.getGlyphSet()
        upm = font["head"].unitsPerEm
        hmtx = font["hmtx"]
    except Exception as err:  # fontTools raises many kinds on a damaged file
        raise VectorError(f"{fallback}: cannot read fallback font ({err})") from None
    factor = UPM / upm
    out = {}
    for cp in codepoints:
        name = cmap.get(cp)
        if name is None:
            continue
        advance = int(round(hmtx[name][0] * factor))
        path = pathops.Path()
        glyphset[name].draw(TransformPen(path.getPen(), (factor, 0, 0, factor, 0, 0)))
        try:
            if fmt == "ttf":
                data, bounds, points, contours = compile_ttf_glyph(path)
            else:
                data, bounds, points, contours = compile_cff_glyph(path)
        except OutlineOverflow:  # a fallback glyph TrueType cannot hold is not borrowed
            continue
        out[cp] = (data, advance, bounds, points, contours)
    return out


# ----------------------------------------------------------------------------- the whole


def build_font(
    glyphset: GlyphSet,
    out: str | Path,
    info: FontInfo | None = None,
    params: TraceParams | None = None,
    fmt: str = "ttf",
    workers: int = 1,
    fallback: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
    label: str | None = None,
) -> BuildReport:
    """Trace ``glyphset`` and write an installable font to ``out``.

    The font is written to a temporary file beside ``out``, checked by the OpenType
    Sanitizer, and only then renamed onto ``out``: ``out`` appears whole and valid or not at
    all. Empty, all-ink and speck-only images are skipped and listed in the report; their
    code points stay unmapped (never a blank or .notdef in their place). With ``fallback``,
    the Hangul compatibility jamo and basic Latin the glyph set lacks are borrowed from it.
    Glyphs too complex to outline (noise: see :data:`~hangulgan.vector.tracepool.
    MAX_SEGMENTS`) or beyond TrueType's limits are skipped and listed too. ``label`` names
    the glyph set in errors (default: its name).
    """
    started = time.perf_counter()
    info = info or FontInfo()
    params = params or TraceParams()
    if fmt not in FORMATS:
        raise VectorError(f"format {fmt!r}: choose one of {', '.join(FORMATS)}")
    info.validate()
    out = check_output_path(out)
    where = label or glyphset.name
    if len(glyphset) == 0:
        raise VectorError(f"glyph set {where}: holds no glyphs")
    height, width = glyphset.size
    if height != width:
        raise VectorError(f"glyph set {where}: images are {height}×{width}; export needs squares")
    cps = np.asarray(glyphset.codepoints, dtype=np.int64)
    bad = cps[(cps <= 0x20) | (cps > 0x10FFFF) | ((cps >= 0xD800) & (cps <= 0xDFFF))]
    if bad.size:
        raise VectorError(
            f"glyph set {where}: code point {int(bad[0])} is not a printable Unicode character"
        )
    notes = []
    geometry, metrics, note = export_geometry(glyphset, where)
    if note:
        notes.append(note)
    if fallback is not None and not Path(fallback).is_file():
        raise VectorError(f"{fallback}: no such fallback font")

    cpu_started = time.process_time()
    chunk_cpu: list[float] = []
    results = trace_glyphs(
        glyphset.images,
        glyphset.codepoints,
        params,
        fmt,
        workers=workers,
        progress=progress,
        cpu=chunk_cpu,
        geometry=geometry,
    )
    traced = time.perf_counter()
    glyphs: dict[int, tuple[Any, int, tuple[int, int, int, int], int, int]] = {}
    skipped: list[SkippedGlyph] = []
    for item in results:
        if isinstance(item, SkippedGlyph):
            skipped.append(item)
        else:
            advance = font_units(geometry.advance_of(item.codepoint), geometry)
            glyphs[item.codepoint] = (item.data, advance, item.bounds, item.points, item.contours)
    if not glyphs:
        reasons = sorted({s.reason for s in skipped})
        raise VectorError(
            f"glyph set {where}: no glyph left to export ({len(skipped)} skipped: "
            f"{', '.join(reasons)})"
        )
    points_per_glyph = float(np.mean([g[3] for g in glyphs.values()]))
    borrowed: list[int] = []
    if fallback is not None:
        wanted = [cp for cp in (*COMPAT_JAMO, *BASIC_LATIN) if cp not in glyphs]
        extra = borrow_glyphs(fallback, wanted, fmt)
        glyphs.update(extra)
        borrowed = sorted(extra)

    digest = hashlib.sha256()
    digest.update(repr(sorted((cp, g[2], g[3]) for cp, g in glyphs.items())).encode())
    digest.update(repr(info).encode())
    font = assemble_font(
        info,
        glyphs,
        fmt,
        digest.digest(),
        metrics=metrics,
        default_advance=font_units(geometry.advance, geometry),
    )
    try:
        with atomic_path(out) as tmp:
            font.save(str(tmp))
            readable_by_all(tmp)
            ots = check.sanitize(tmp, label=str(out))
    except OSError as err:
        raise VectorError(f"{out}: cannot write font ({err.strerror or err})") from None
    finished = time.perf_counter()
    return BuildReport(
        path=out,
        format=fmt,
        glyphs=len(glyphs),
        mapped=sorted({*glyphs, 0x20}),
        skipped=skipped,
        borrowed=borrowed,
        points_per_glyph=points_per_glyph,
        seconds=finished - started,
        trace_seconds=traced - started,
        workers=workers,
        params=params,
        family=info.family,
        ots=ots,
        # worker CPU is not in this process's clock; in-process chunks are
        notes=notes,
        cpu_seconds=time.process_time()
        - cpu_started
        + (sum(chunk_cpu) if workers > 1 and len(glyphset) > CHUNK else 0.0),
        timings={"trace": traced - started, "assemble+save+ots": finished - traced},
    )
