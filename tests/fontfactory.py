"""Small fonts built on the fly with fontTools, so tests know every glyph's exact shape.

Shapes are axis-aligned rectangles in font units (UPM 1000, typo ascender 880,
descender -120), so a test can compute where their ink must land on a canvas.
"""

from __future__ import annotations

from pathlib import Path

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib.ttCollection import TTCollection

UPM = 1000
ASCENDER, DESCENDER = 880, -120

# code point → list of rectangles (xMin, yMin, xMax, yMax) in font units
DEFAULT_SHAPES: dict[int, list[tuple[int, int, int, int]]] = {
    ord("가"): [(100, 0, 900, 800)],
    ord("나"): [(100, 0, 400, 800), (600, 0, 900, 800)],
    ord("한"): [(200, 100, 800, 300), (200, 500, 800, 700)],
}
# mapped in the cmap, but its glyph has no outline
EMPTY_MAPPED = ord("다")
# drawn in the font but left out of the cmap
UNMAPPED = ord("라")


def _rect_glyph(rects: list[tuple[int, int, int, int]]):
    pen = TTGlyphPen(None)
    for x0, y0, x1, y1 in rects:
        # clockwise: TrueType's outer contour direction
        pen.moveTo((x0, y0))
        pen.lineTo((x0, y1))
        pen.lineTo((x1, y1))
        pen.lineTo((x1, y0))
        pen.closePath()
    return pen.glyph()


def build_font(
    path: str | Path,
    shapes: dict[int, list[tuple[int, int, int, int]]] | None = None,
    family: str = "Test Hangul",
    style: str = "Regular",
    empty_mapped: bool = True,
    unmapped: bool = True,
    extra_latin: bool = True,
) -> Path:
    """Write a TrueType font with rectangle glyphs for ``shapes`` and return its path."""
    shapes = DEFAULT_SHAPES if shapes is None else shapes
    fb = FontBuilder(UPM, isTTF=True)
    order = [".notdef", "space"]
    cmap = {0x20: "space"}
    glyphs = {".notdef": _rect_glyph([(50, 0, 450, 700)]), "space": _rect_glyph([])}
    if extra_latin:
        order.append("A")
        cmap[ord("A")] = "A"
        glyphs["A"] = _rect_glyph([(50, 0, 450, 700)])
    for cp, rects in shapes.items():
        name = f"uni{cp:04X}"
        order.append(name)
        cmap[cp] = name
        glyphs[name] = _rect_glyph(rects)
    if empty_mapped:
        name = f"uni{EMPTY_MAPPED:04X}"
        order.append(name)
        cmap[EMPTY_MAPPED] = name
        glyphs[name] = _rect_glyph([])
    if unmapped:
        name = f"uni{UNMAPPED:04X}"
        order.append(name)
        glyphs[name] = _rect_glyph([(300, 300, 700, 700)])
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap(cmap)
    fb.setupGlyf(glyphs)
    metrics = {}
    glyf = fb.font["glyf"]
    for name in order:
        advance = 500 if name in (".notdef", "A") else UPM
        metrics[name] = (advance, getattr(glyf[name], "xMin", 0))
    fb.setupHorizontalMetrics(metrics)
    fb.setupHorizontalHeader(ascent=ASCENDER, descent=DESCENDER)
    fb.setupNameTable({"familyName": family, "styleName": style})
    fb.setupOS2(
        sTypoAscender=ASCENDER,
        sTypoDescender=DESCENDER,
        sTypoLineGap=0,
        usWinAscent=ASCENDER,
        usWinDescent=-DESCENDER,
        fsType=0,
    )
    fb.setupPost()
    path = Path(path)
    fb.save(str(path))
    return path


def build_collection(path: str | Path, fonts: list[Path]) -> Path:
    """Write a TTC holding the given fonts as its faces."""
    from fontTools.ttLib import TTFont

    collection = TTCollection()
    collection.fonts = [TTFont(str(f)) for f in fonts]
    collection.save(str(path))
    return Path(path)
