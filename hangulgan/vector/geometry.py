"""Where a glyph set's pixels go in a font: the font's units per em and the glyph set's
placement geometry, read once for every stage that turns pixels into font units (the font
builder, ``complete``) or font units back into pixels (the round-trip check).

Placement is the inverse of the glyph set's recorded geometry
(:class:`hangulgan.data.placement.Geometry`): pixel (px, py) maps to
x = (px − origin_x)·1000/em_px and y = (baseline_row − py)·1000/em_px at UPM 1000. Glyph
sets written before geometry was recorded are read as they always were: the canvas is the
em, the baseline 880/1000 below its top, the pen at its left edge, advance 1000.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from hangulgan.data.glyphset import GlyphSet
from hangulgan.data.placement import Geometry, VerticalMetrics, geometry_of
from hangulgan.errors import VectorError

UPM = 1000
ADVANCE = 1000  # the advance of a glyph set that records no source geometry
# The sane range of a recorded geometry, in ems of the source font. Within it every point
# of a canvas lands inside ±16,000 font units (TrueType stores int16 coordinates), every
# metric fits its table field, and no real font falls outside (tall scripts reach 2-3 em).
MAX_EMS = 8
LISTS = {"hhea": 3, "typo": 3, "win": 2}  # recorded vertical metrics: name -> values


def _number(name: str, value: Any, integral: bool) -> float:
    """``value`` as a finite number, or ValueError naming the field."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"field {name} is {value!r}, not a number")
    if not math.isfinite(value):
        raise ValueError(f"field {name} is {value!r}, not a finite number")
    if integral and value != int(value):
        raise ValueError(f"field {name} is {value!r}, not a whole number")
    return float(value)


def _within(name: str, value: Any, low: float, high: float, integral: bool = True) -> float:
    number = _number(name, value, integral)
    if not low <= number <= high:
        raise ValueError(f"field {name} is {value!r}, outside {low:g}..{high:g}")
    return number


def check_geometry_meta(meta: Mapping[str, Any]) -> None:
    """Raise ValueError naming the first field of a recorded geometry (``meta["geometry"]``
    of a glyph set) that is missing or outside its sane range: canvas 1..16384 px; units
    per em 16..16384 (OpenType's); em 1/8..8 canvases; baseline row within a canvas
    above or below it; advances and vertical metrics within ±8 em (advances and win
    metrics not negative); lists of exactly their values."""
    if not isinstance(meta, Mapping):
        raise ValueError(f"it is {type(meta).__name__}, not a mapping")
    for name in ("canvas", "em_px", "baseline_row", "units_per_em", "advance", *LISTS):
        if name not in meta:
            raise ValueError(f"field {name} is missing")
    canvas = _within("canvas", meta["canvas"], 1, 16384)
    upm = _within("units_per_em", meta["units_per_em"], 16, 16384)
    _within("em_px", meta["em_px"], canvas / MAX_EMS, canvas * MAX_EMS, integral=False)
    _within("baseline_row", meta["baseline_row"], -canvas, 2 * canvas, integral=False)
    limit = MAX_EMS * upm
    _within("advance", meta["advance"], 0, limit)
    advances = meta.get("advances", {})
    if not isinstance(advances, Mapping):
        raise ValueError(f"field advances is {advances!r}, not a mapping")
    for key, value in advances.items():
        try:
            codepoint = int(str(key), 16)
        except ValueError:
            raise ValueError(f"field advances has key {key!r}, not a hex code point") from None
        _within(f"advances[{key}]", value, 0, limit)
        if not 0 <= codepoint <= 0x10FFFF:
            raise ValueError(f"field advances has key {key!r}, not a code point")
    for name, count in LISTS.items():
        values = meta[name]
        if not isinstance(values, list | tuple) or len(values) != count:
            raise ValueError(f"field {name} is {values!r}, not a list of {count} numbers")
        low = 0 if name == "win" else -limit
        for i, value in enumerate(values):
            _within(f"{name}[{i}]", value, low, limit)
    if not isinstance(meta.get("use_typo_metrics", False), bool):
        raise ValueError(f"field use_typo_metrics is {meta['use_typo_metrics']!r}, not true/false")


def font_units(source_units: int, geometry: Geometry) -> int:
    """A length in the glyph set's source units, in the built font's (1000 per em)."""
    return round(source_units * UPM / geometry.units_per_em)


def export_geometry(
    glyphset: GlyphSet, label: str | None = None
) -> tuple[Geometry, VerticalMetrics | None, str]:
    """How to place ``glyphset``'s pixels in the font: its geometry, the vertical metrics to
    write (UPM 1000; None: the CJK convention) and a note for the user ('' when none).
    ``label`` names the glyph set in errors and notes (default: its name).

    A recorded geometry is checked field by field first (:func:`check_geometry_meta`): a
    value outside its sane range is a VectorError naming the glyph set and the field. A
    glyph set without a recorded geometry is read as such sets always were
    (:meth:`Geometry.legacy`), with a note saying its glyphs may not sit on the source's
    baseline."""
    where = label or glyphset.name
    height = glyphset.size[0]
    try:
        recorded = glyphset.meta.get("geometry")
        if recorded:
            check_geometry_meta(recorded)
        geometry = geometry_of(glyphset)
    except (ValueError, OverflowError) as err:
        raise VectorError(f"glyph set {where}: unreadable placement geometry ({err})") from None
    if geometry is not None and geometry.canvas != height:
        raise VectorError(
            f"glyph set {where}: its geometry is for {geometry.canvas} px canvases, its "
            f"images are {height} px"
        )
    if geometry is not None:
        return geometry, geometry.metrics.scaled(UPM), ""
    placement = glyphset.meta.get("placement", "em")
    if placement != "em":
        note = (
            f"glyph set {where} was rendered with the {placement!r} placement: the font takes "
            "each canvas as the em square, so sizes and baselines follow the canvas, not the "
            "source fonts"
        )
    else:
        note = (
            f"glyph set {where} records no placement geometry (written by an older "
            "hangulgan): each canvas is read as the em with the baseline 880/1000 below its "
            "top, so glyphs may sit off the source font's baseline; render the corpus (or "
            "sample the glyph set) again to place them exactly"
        )
    return Geometry.legacy(height), None, note


def pixel_transform(
    geometry: Geometry, advance: int, upscale: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """(scale, offset) that take a point of the ``upscale``× image of a glyph of ``advance``
    source units to font units (UPM 1000): x·scale[0] + offset[0], y·scale[1] + offset[1]."""
    unit = UPM / geometry.em_px
    origin = geometry.origin_x(advance)
    return (unit / upscale, -unit / upscale), (-origin * unit, geometry.baseline_row * unit)
