"""Rasterise Hangul syllables with FreeType straight into a numpy array.

Speed comes from skipping freetype-py's per-glyph Python objects: each glyph is one
``FT_Load_Glyph`` (outline only, unhinted), one ``FT_Outline_Translate`` (or a transform
for ``fit``) and one ``FT_Outline_Get_Bitmap`` that draws into the output array's own
memory. No bitmap is copied in Python.

Placements (recorded in the manifest):

``em``
    The em square is the canvas: ``size`` pixels per em, the baseline
    ``size * asc / (asc - desc)`` pixels from the top (asc/desc: the OS/2 typo
    ascender/descender when they add up to the em, else 880/-120 of 1000) and each
    glyph centred on its advance. Relative size and position survive: what a font
    generator needs, and the mapping ``vector.fontbuild`` inverts.
``fit``
    Each glyph scaled (aspect kept) and centred into the canvas less a margin: what the
    seed projects did.
"""

from __future__ import annotations

import ctypes
from ctypes import c_int, c_long, c_void_p
from dataclasses import dataclass

import freetype
import freetype.raw as ft
import numpy as np
from freetype.ft_structs import FT_BBox, FT_Matrix

from hangulgan.data.ftlayout import ensure_layout
from hangulgan.errors import FontError

# The renderer reads freetype-py's private structures: check their layout at start-up.
ensure_layout()

PLACEMENTS = ("em", "fit")

_FT_LOAD_NO_HINTING = 0x2
_FT_LOAD_NO_BITMAP = 0x8
_LOAD_FLAGS = _FT_LOAD_NO_HINTING | _FT_LOAD_NO_BITMAP
_FT_PIXEL_MODE_GRAY = 2


class _Bitmap(ctypes.Structure):
    """FT_Bitmap with the buffer as a plain address, so it can point into numpy memory."""

    _fields_ = [
        ("rows", ctypes.c_uint),
        ("width", ctypes.c_uint),
        ("pitch", c_int),
        ("buffer", c_void_p),
        ("num_grays", ctypes.c_ushort),
        ("pixel_mode", ctypes.c_ubyte),
        ("palette_mode", ctypes.c_ubyte),
        ("palette", c_void_p),
    ]


def _proto(func, restype, *argtypes):
    # freetype-py leaves argtypes unset, so Python ints would pass as 32-bit C ints;
    # a typed prototype over the same symbol passes pointers and 26.6 values correctly.
    address = ctypes.cast(func, c_void_p).value
    return ctypes.CFUNCTYPE(restype, *argtypes)(address)


_load_glyph = _proto(ft.FT_Load_Glyph, c_int, c_void_p, ctypes.c_uint, ctypes.c_int32)
_outline_translate = _proto(ft.FT_Outline_Translate, None, c_void_p, c_long, c_long)
_outline_transform = _proto(ft.FT_Outline_Transform, None, c_void_p, c_void_p)
_outline_get_cbox = _proto(ft.FT_Outline_Get_CBox, None, c_void_p, c_void_p)
_outline_get_bitmap = _proto(ft.FT_Outline_Get_Bitmap, c_int, c_void_p, c_void_p, c_void_p)


@dataclass
class RenderResult:
    """Images of the syllables a face draws, and those it lacks."""

    images: np.ndarray  # N×H×W uint8
    codepoints: np.ndarray  # N int32, the rendered syllables
    missing: np.ndarray  # not in the cmap
    empty: np.ndarray  # mapped, but the outline is empty or draws no ink


def em_box(path: str, face_index: int, upm: int) -> tuple[float, float]:
    """(ascender, descender) of the em box in font units, per the ``em`` placement rule."""
    from fontTools.ttLib import TTFont

    try:
        with TTFont(path, fontNumber=face_index, lazy=True) as font:
            os2 = font["OS/2"] if "OS/2" in font else None
            if os2 is not None:
                asc, desc = int(os2.sTypoAscender), int(os2.sTypoDescender)
                if asc > 0 and asc - desc == upm:
                    return float(asc), float(desc)
    except Exception:  # noqa: BLE001 - an unreadable OS/2 falls back to the CJK convention
        pass
    return 0.88 * upm, -0.12 * upm


class FaceRenderer:
    """Renders glyphs of one font face onto ``size``×``size`` canvases."""

    def __init__(
        self,
        path: str,
        face_index: int = 0,
        size: int = 32,
        placement: str = "em",
        fit_margin: float = 1 / 16,
    ) -> None:
        if placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {PLACEMENTS}, not {placement!r}")
        if size < 8:
            raise ValueError(f"size must be at least 8 pixels, not {size}")
        self.path = str(path)
        try:
            self.face = freetype.Face(self.path, face_index)
        except freetype.FT_Exception as err:
            raise FontError(f"{path}: FreeType cannot open face {face_index} ({err})") from None
        if not self.face.is_scalable:
            raise FontError(f"{path}: face {face_index} is a bitmap font, not an outline font")
        self.size = size
        self.placement = placement
        self.fit_margin = fit_margin
        self.face.set_pixel_sizes(size, size)
        upm = self.face.units_per_EM
        asc, desc = em_box(self.path, face_index & 0xFFFF, upm)  # low bits: face
        # Pixels from the canvas bottom up to the baseline, in 26.6 fixed point.
        self._baseline_26_6 = round(size * (-desc) / (asc - desc) * 64)
        self._em_26_6 = size * 64
        slot = self.face._FT_Face.contents.glyph.contents
        self._slot = slot
        self._outline = slot.outline
        self._outline_addr = ctypes.addressof(slot.outline)
        self._face_addr = ctypes.cast(self.face._FT_Face, c_void_p).value
        self._library_addr = ctypes.cast(freetype.get_handle(), c_void_p).value
        self._bitmap = _Bitmap(size, size, size, None, 256, _FT_PIXEL_MODE_GRAY, 0, None)
        self._bitmap_addr = ctypes.addressof(self._bitmap)

    def glyph_indices(self, codepoints: np.ndarray) -> np.ndarray:
        """Glyph index of each code point through the cmap; 0 means not mapped."""
        get = self.face.get_char_index
        return np.fromiter(
            (get(int(cp)) for cp in codepoints), dtype=np.int64, count=len(codepoints)
        )

    def render(self, codepoints: list[int] | np.ndarray) -> RenderResult:
        """Render every mapped code point; unmapped and empty glyphs are reported, not drawn."""
        codepoints = np.asarray(codepoints, dtype=np.int32)
        gids = self.glyph_indices(codepoints)
        mapped = gids != 0
        todo_cps = codepoints[mapped]
        todo_gids = gids[mapped].tolist()
        size = self.size
        out = np.zeros((len(todo_gids), size, size), dtype=np.uint8)
        drawn = np.zeros(len(todo_gids), dtype=bool)
        if todo_gids:
            base = out.ctypes.data
            stride = size * size
            draw = self._draw_em if self.placement == "em" else self._draw_fit
            for i, gid in enumerate(todo_gids):
                drawn[i] = draw(gid, base + i * stride)
        # A glyph with points can still draw no ink on the canvas (degenerate or tiny outline).
        has_ink = out.reshape(len(out), -1).max(axis=1) > 0 if len(out) else drawn
        keep = drawn & has_ink
        return RenderResult(
            images=out[keep] if not keep.all() else out,
            codepoints=todo_cps[keep],
            missing=codepoints[~mapped],
            empty=todo_cps[~keep],
        )

    def _load(self, gid: int) -> bool:
        err = _load_glyph(self._face_addr, gid, _LOAD_FLAGS)
        if err:
            raise FontError(
                f"{self.path}: FreeType error {err} loading glyph {gid} (damaged font?)"
            )
        return self._outline.n_points > 0

    def _draw_em(self, gid: int, address: int) -> bool:
        if not self._load(gid):
            return False
        advance = self._slot.metrics.horiAdvance
        _outline_translate(self._outline_addr, (self._em_26_6 - advance) // 2, self._baseline_26_6)
        self._bitmap.buffer = address
        _outline_get_bitmap(self._library_addr, self._outline_addr, self._bitmap_addr)
        return True

    def _draw_fit(self, gid: int, address: int) -> bool:
        if not self._load(gid):
            return False
        box = FT_BBox()
        _outline_get_cbox(self._outline_addr, ctypes.addressof(box))
        width, height = box.xMax - box.xMin, box.yMax - box.yMin
        if width <= 0 or height <= 0:
            return False
        inner = self.size * (1 - 2 * self.fit_margin) * 64
        scale = min(inner / width, inner / height)
        matrix = FT_Matrix(round(scale * 65536), 0, 0, round(scale * 65536))
        _outline_transform(self._outline_addr, ctypes.addressof(matrix))
        centre = self.size * 32  # half the canvas in 26.6
        dx = centre - round((box.xMin + box.xMax) / 2 * scale)
        dy = centre - round((box.yMin + box.yMax) / 2 * scale)
        _outline_translate(self._outline_addr, dx, dy)
        self._bitmap.buffer = address
        _outline_get_bitmap(self._library_addr, self._outline_addr, self._bitmap_addr)
        return True


def render_face(
    path: str,
    codepoints: list[int] | np.ndarray,
    size: int = 32,
    placement: str = "em",
    face_index: int = 0,
) -> RenderResult:
    """Render ``codepoints`` of one face; see :class:`FaceRenderer`."""
    return FaceRenderer(path, face_index, size, placement).render(codepoints)
