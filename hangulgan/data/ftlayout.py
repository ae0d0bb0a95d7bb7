"""A start-up check that freetype-py's ctypes view of FreeType's structures is right.

The renderer (:mod:`hangulgan.data.render`) reads ``FT_FaceRec`` and ``FT_GlyphSlotRec``
through freetype-py's private ctypes definitions and calls raw function pointers with
addresses taken from them. If a freetype-py release, or the FreeType library it loads,
lays those structures out differently, the renderer would read garbage or crash. So
before the first face is rendered, a one-glyph font built in memory (a rectangle of
known size) is opened and every field the renderer relies on is compared with what
was written into the font: a mismatch is one clear :class:`~hangulgan.errors.SetupError`
instead of a segfault. Tested with freetype-py 2.5 (FreeType 2.13).
"""

from __future__ import annotations

import ctypes
import functools
import importlib.metadata
import io
from typing import Any

from hangulgan.errors import SetupError

# The probe font: UPM 1000, typo ascender 880, one 600-wide glyph, a rectangle.
_UPM, _ASCENDER, _DESCENDER, _ADVANCE = 1000, 880, -120, 600
_RECT = (100, 0, 500, 700)  # xMin, yMin, xMax, yMax in font units
_FAMILY = "LayoutProbe"
_FT_LOAD_NO_SCALE = 0x1
_FT_GLYPH_FORMAT_OUTLINE = int.from_bytes(b"outl", "big")


@functools.cache
def _probe_font() -> bytes:
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    x0, y0, x1, y1 = _RECT
    pen = TTGlyphPen(None)
    for point in ((x0, y0), (x0, y1), (x1, y1), (x1, y0)):  # clockwise: an outer contour
        (pen.lineTo if point != (x0, y0) else pen.moveTo)(point)
    pen.closePath()
    builder = FontBuilder(_UPM, isTTF=True)
    builder.setupGlyphOrder([".notdef", "rect"])
    builder.setupCharacterMap({0xAC00: "rect"})
    builder.setupGlyf({".notdef": TTGlyphPen(None).glyph(), "rect": pen.glyph()})
    builder.setupHorizontalMetrics({".notdef": (500, 0), "rect": (_ADVANCE, x0)})
    builder.setupHorizontalHeader(ascent=_ASCENDER, descent=_DESCENDER)
    builder.setupNameTable({"familyName": _FAMILY, "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=_ASCENDER, sTypoDescender=_DESCENDER)
    builder.setupPost()
    data = io.BytesIO()
    builder.save(data)
    return data.getvalue()


def _versions() -> str:
    import freetype

    try:
        library = ".".join(map(str, freetype.version()))
    except Exception:  # noqa: BLE001 - the version is only for the message
        library = "?"
    try:
        binding = importlib.metadata.version("freetype-py")
    except importlib.metadata.PackageNotFoundError:
        binding = "?"
    return f"freetype-py {binding} with FreeType {library}"


def _mismatch(what: str, got: Any, expected: Any) -> SetupError:
    return SetupError(
        f"{_versions()}: FreeType's structures are not laid out as hangulgan expects "
        f"({what} reads {got!r}, expected {expected!r}); install a tested freetype-py "
        "(pip install 'freetype-py>=2.4,<2.6')"
    )


def check_layout(face_type: type | None = None, slot_type: type | None = None) -> None:
    """Compare the fields the renderer reads with a font of known values; raise
    :class:`SetupError` on the first mismatch. ``face_type``/``slot_type`` default to
    freetype-py's ``FT_FaceRec``/``FT_GlyphSlotRec`` (tests pass others)."""
    import freetype
    import freetype.raw as ft
    from freetype.ft_structs import FT_BBox, FT_FaceRec, FT_GlyphSlotRec

    face_type = face_type or FT_FaceRec
    slot_type = slot_type or FT_GlyphSlotRec
    face = freetype.Face(io.BytesIO(_probe_font()))
    face_address = ctypes.cast(face._FT_Face, ctypes.c_void_p).value
    record = ctypes.cast(face_address, ctypes.POINTER(face_type)).contents
    # Scalars first: a shifted layout is caught before any pointer in it is followed.
    for field, expected in (
        ("num_faces", 1),
        ("num_glyphs", 2),
        ("units_per_EM", _UPM),
        ("ascender", _ASCENDER),
        ("descender", _DESCENDER),
    ):
        got = getattr(record, field)
        if got != expected:
            raise _mismatch(f"FT_FaceRec.{field}", got, expected)
    family = record.family_name
    if family != _FAMILY.encode():
        raise _mismatch("FT_FaceRec.family_name", family, _FAMILY.encode())
    slot_address = ctypes.cast(record.glyph, ctypes.c_void_p).value
    if not slot_address:
        raise _mismatch("FT_FaceRec.glyph", None, "a glyph slot")
    error = ft.FT_Load_Glyph(face._FT_Face, 1, _FT_LOAD_NO_SCALE)
    if error:
        raise _mismatch("FT_Load_Glyph on the probe font", error, 0)
    slot = ctypes.cast(slot_address, ctypes.POINTER(slot_type)).contents
    if ctypes.cast(slot.face, ctypes.c_void_p).value != face_address:
        raise _mismatch("FT_GlyphSlotRec.face", slot.face, hex(face_address))
    for what, got, expected in (
        ("FT_GlyphSlotRec.format", slot.format, _FT_GLYPH_FORMAT_OUTLINE),
        ("FT_GlyphSlotRec.metrics.horiAdvance", slot.metrics.horiAdvance, _ADVANCE),
        ("FT_GlyphSlotRec.outline.n_contours", slot.outline.n_contours, 1),
        ("FT_GlyphSlotRec.outline.n_points", slot.outline.n_points, 4),
    ):
        if got != expected:
            raise _mismatch(what, got, expected)
    # The outline's address goes to raw FreeType calls: its box must be the rectangle.
    box = FT_BBox()
    ft.FT_Outline_Get_CBox(ctypes.byref(slot.outline), ctypes.byref(box))
    got_box = (box.xMin, box.yMin, box.xMax, box.yMax)
    if got_box != _RECT:
        raise _mismatch("the outline's box", got_box, _RECT)


@functools.cache
def ensure_layout() -> None:
    """:func:`check_layout` once per process (a few milliseconds)."""
    check_layout()
