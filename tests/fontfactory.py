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


def _draw_rects(pen, rects: list[tuple[int, int, int, int]]) -> None:
    for x0, y0, x1, y1 in rects:
        # clockwise: TrueType's outer contour direction
        pen.moveTo((x0, y0))
        pen.lineTo((x0, y1))
        pen.lineTo((x1, y1))
        pen.lineTo((x1, y0))
        pen.closePath()


def _rect_glyph(rects: list[tuple[int, int, int, int]]):
    pen = TTGlyphPen(None)
    _draw_rects(pen, rects)
    return pen.glyph()


def _rect_charstring(rects: list[tuple[int, int, int, int]], advance: int):
    from fontTools.pens.t2CharStringPen import T2CharStringPen

    pen = T2CharStringPen(advance, None)
    # CFF outer contours run counter-clockwise: draw each rectangle reversed.
    _draw_rects(pen, [(x0, y1, x1, y0) for x0, y0, x1, y1 in rects])
    return pen.getCharString()


def build_font(
    path: str | Path,
    shapes: dict[int, list[tuple[int, int, int, int]]] | None = None,
    family: str = "Test Hangul",
    style: str = "Regular",
    empty_mapped: bool = True,
    unmapped: bool = True,
    extra_latin: bool = True,
    cff: bool = False,
    advance: int = UPM,
    ascender: int = ASCENDER,
    descender: int = DESCENDER,
    blank: tuple[int, ...] | list[int] = (),
) -> Path:
    """Write a font with rectangle glyphs for ``shapes`` (TrueType, or CFF-based OpenType
    with ``cff``) and return its path. Hangul glyphs get ``advance``; ``ascender`` and
    ``descender`` go to hhea, OS/2 typo and win; ``blank`` code points are mapped to
    empty glyphs."""
    shapes = DEFAULT_SHAPES if shapes is None else shapes
    fb = FontBuilder(UPM, isTTF=not cff)
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
    for cp in blank:
        name = f"uni{cp:04X}"
        order.append(name)
        cmap[cp] = name
        glyphs[name] = _rect_glyph([])
    if unmapped:
        name = f"uni{UNMAPPED:04X}"
        order.append(name)
        glyphs[name] = _rect_glyph([(300, 300, 700, 700)])
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap(cmap)
    advances = {name: 500 if name in (".notdef", "A") else advance for name in order}
    if cff:
        rects = {".notdef": [(50, 0, 450, 700)], "space": [], "A": [(50, 0, 450, 700)]}
        rects.update({f"uni{cp:04X}": r for cp, r in shapes.items()})
        rects[f"uni{EMPTY_MAPPED:04X}"] = []
        rects.update({f"uni{cp:04X}": [] for cp in blank})
        rects[f"uni{UNMAPPED:04X}"] = [(300, 300, 700, 700)]
        charstrings = {name: _rect_charstring(rects[name], advances[name]) for name in order}
        fb.setupCFF(family.replace(" ", ""), {"FullName": family}, charstrings, {})
        lsb = {name: min((r[0] for r in rects[name]), default=0) for name in order}
    else:
        fb.setupGlyf(glyphs)
        lsb = {name: getattr(fb.font["glyf"][name], "xMin", 0) for name in order}
    fb.setupHorizontalMetrics({name: (advances[name], lsb[name]) for name in order})
    fb.setupHorizontalHeader(ascent=ascender, descent=descender)
    fb.setupNameTable({"familyName": family, "styleName": style})
    fb.setupOS2(
        sTypoAscender=ascender,
        sTypoDescender=descender,
        sTypoLineGap=0,
        usWinAscent=ascender,
        usWinDescent=-descender,
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


def build_variable_font(path: str | Path) -> Path:
    """A variable font (wght 100..900, named instances Thin and Black) whose 가 widens with
    weight: at the default (400) it is the rectangle 100..900 × 0..800."""
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.tables.TupleVariation import TupleVariation

    base = build_font(
        Path(path).with_suffix(".base.ttf"),
        shapes={ord("가"): [(100, 0, 900, 800)]},
        family="Var Hangul",
        empty_mapped=False,
        unmapped=False,
        extra_latin=False,
    )
    fb = FontBuilder(font=TTFont(str(base)))
    fb.setupFvar(
        axes=[("wght", 100, 400, 900, "Weight")],
        instances=[
            {"stylename": "Thin", "location": {"wght": 100}},
            {"stylename": "Black", "location": {"wght": 900}},
        ],
    )
    # The rectangle's points in drawing order: (x0,y0) (x0,y1) (x1,y1) (x1,y0); then 4 phantoms.
    wider = [(-80, 0), (-80, 0), (80, 0), (80, 0)] + [(0, 0)] * 4
    narrower = [(80, 0), (80, 0), (-80, 0), (-80, 0)] + [(0, 0)] * 4
    fb.setupGvar(
        {
            "uniAC00": [
                TupleVariation({"wght": (0, 1.0, 1.0)}, wider),
                TupleVariation({"wght": (-1.0, -1.0, 0)}, narrower),
            ]
        }
    )
    fb.save(str(path))
    base.unlink()
    return Path(path)
