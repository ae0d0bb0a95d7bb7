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

from hangulgan.data.glyphset import GlyphSet
from hangulgan.data.placement import Geometry, VerticalMetrics, geometry_of
from hangulgan.errors import VectorError

UPM = 1000
ADVANCE = 1000  # the advance of a glyph set that records no source geometry


def font_units(source_units: int, geometry: Geometry) -> int:
    """A length in the glyph set's source units, in the built font's (1000 per em)."""
    return round(source_units * UPM / geometry.units_per_em)


def export_geometry(glyphset: GlyphSet) -> tuple[Geometry, VerticalMetrics | None, str]:
    """How to place ``glyphset``'s pixels in the font: its geometry, the vertical metrics to
    write (UPM 1000; None: the CJK convention) and a note for the user ('' when none).

    A glyph set without a recorded geometry is read as such sets always were
    (:meth:`Geometry.legacy`), with a note saying its glyphs may not sit on the source's
    baseline."""
    where = glyphset.meta.get("source") or glyphset.name
    try:
        geometry = geometry_of(glyphset)
    except ValueError as err:
        raise VectorError(f"glyph set {where}: unreadable placement geometry ({err})") from None
    height = glyphset.size[0]
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
