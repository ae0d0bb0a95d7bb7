"""Rasterise Hangul syllables with FreeType straight into a numpy array.

Speed comes from skipping freetype-py's per-glyph Python objects: each glyph is one
``FT_Load_Glyph`` (outline only, unhinted), one ``FT_Outline_Translate`` (or a transform
for ``fit``) and one ``FT_Outline_Get_Bitmap`` that draws into the output array's own
memory. No bitmap is copied in Python.

Placements (recorded in the manifest):

``em``
    The em square is the canvas: ``size`` pixels per em, the baseline a whole number of
    pixels below the top, chosen per face so that its Hangul ink is centred vertically, and
    each glyph's advance centred on the canvas (the pen origin in whole pixels). Relative
    size and position survive: what a font generator needs. The numbers are recorded per
    face (:class:`hangulgan.data.placement.Geometry`), and ``vector.fontbuild`` inverts them.
``fit``
    Each glyph scaled (aspect kept) and centred into the canvas less a margin: what the
    original examples did.

A renderer can also be told the baseline row and pen origin, and a canvas larger than the
em (``canvas``): the font checks render two fonts on one baseline that way.
"""

from __future__ import annotations

import ctypes
import io
import sys
from ctypes import c_int, c_long, c_void_p
from dataclasses import dataclass, field

import freetype
import freetype.raw as ft
import numpy as np
from freetype.ft_structs import FT_BBox, FT_Matrix

from hangulgan import hangul
from hangulgan.data.ftlayout import ensure_layout
from hangulgan.data.mend import mended_font
from hangulgan.data.placement import Geometry, VerticalMetrics
from hangulgan.errors import FontError

# The renderer reads freetype-py's private structures: check their layout at start-up.
ensure_layout()

PLACEMENTS = ("em", "fit")

_FT_LOAD_NO_SCALE = 0x1
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


def ft_error_text(error: int | Exception) -> str:
    """FreeType's own words for an error (a code or an ``FT_Exception``): 'invalid outline'."""
    if isinstance(error, int):
        error = freetype.FT_Exception(error)
    text = str(error).strip()
    # freetype-py writes "FT_Exception: <message> (<meaning of the code>)"
    meaning = text[text.rfind("(") + 1 : -1].strip() if text.endswith(")") else ""
    return meaning or text or "FreeType error"


_load_glyph = _proto(ft.FT_Load_Glyph, c_int, c_void_p, ctypes.c_uint, ctypes.c_int32)
_outline_translate = _proto(ft.FT_Outline_Translate, None, c_void_p, c_long, c_long)
_outline_transform = _proto(ft.FT_Outline_Transform, None, c_void_p, c_void_p)
_outline_get_cbox = _proto(ft.FT_Outline_Get_CBox, None, c_void_p, c_void_p)
_outline_get_bitmap = _proto(ft.FT_Outline_Get_Bitmap, c_int, c_void_p, c_void_p, c_void_p)
_get_advance = _proto(ft.FT_Get_Advance, c_int, c_void_p, ctypes.c_uint, ctypes.c_int32, c_void_p)
# Syllables whose outlines place the ink: every 11th (1,016 of 11,172) is enough to find a
# face's typical top and bottom; a font with fewer than _MIN_INK_SAMPLE of them is measured
# on every syllable it draws.
_INK_SAMPLE_STRIDE = 11
_MIN_INK_SAMPLE = 16


@dataclass
class RenderResult:
    """Images of the syllables a face draws, and those it lacks."""

    images: np.ndarray  # N×H×W uint8
    codepoints: np.ndarray  # N int32, the rendered syllables
    missing: np.ndarray  # not in the cmap
    empty: np.ndarray  # mapped, but the outline is empty or draws no ink
    # advance of each rendered glyph in font units (``em`` placement; empty for ``fit``)
    advances: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    geometry: Geometry | None = None  # where the pixels lie (``em``); see data.placement
    failed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    # mapped, but FreeType cannot load the glyph (a damaged font); the first error is kept
    first_error: str = ""

    def placement_meta(self) -> dict:
        """The glyph set ``meta`` entries that record this rendering's placement."""
        if self.geometry is None:
            return {"placement": "fit"}
        geometry = self.geometry.with_advances(self.codepoints.tolist(), self.advances.tolist())
        return {"placement": "em", "geometry": geometry.to_meta()}


_warned: set[tuple[str, str]] = set()


def warn_once(path: str, problem: str) -> None:
    """Say on stderr, once per process, that the font file ``path`` has ``problem`` and
    what was done about it: a damaged table that rendering works around is no reason to
    skip a face, but the user should hear of it."""
    if (path, problem) not in _warned:
        _warned.add((path, problem))
        print(f"warning: {path}: {problem}", file=sys.stderr, flush=True)


def em_box(path: str, face_index: int, upm: int) -> tuple[float, float]:
    """(ascender, descender) of a face's em box in font units: the OS/2 typo values when
    they add up to the em, else 880/-120 of 1000. Centres a face that draws no Hangul."""
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
    """Renders glyphs of one font face, ``size`` pixels per em, onto square canvases."""

    def __init__(
        self,
        path: str,
        face_index: int = 0,
        size: int = 32,
        placement: str = "em",
        fit_margin: float = 1 / 16,
        *,
        canvas: int | None = None,
        baseline_row: float | None = None,
        origin_x: float | None = None,
    ) -> None:
        """``size`` is the em in pixels and ``canvas`` the square canvas's side (default:
        ``size``). For ``em``, ``baseline_row`` (pixels below the canvas top) and
        ``origin_x`` (the pen's pixels from the left edge, the same for every glyph)
        override the face's own rule."""
        if placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {PLACEMENTS}, not {placement!r}")
        if size < 8:
            raise ValueError(f"size must be at least 8 pixels, not {size}")
        canvas = size if canvas is None else canvas
        if canvas < size:
            raise ValueError(f"canvas ({canvas} px) must hold the em ({size} px)")
        self.path = str(path)
        mended, note = mended_font(self.path, face_index)  # FontError: damaged beyond that
        if note:
            warn_once(self.path, note)
        try:
            source = self.path if mended is None else io.BytesIO(mended)
            self.face = freetype.Face(source, face_index)
        except freetype.FT_Exception as err:
            raise FontError(
                f"{path}: FreeType cannot open face {face_index} ({ft_error_text(err)})"
            ) from None
        if not self.face.is_scalable:
            raise FontError(f"{path}: face {face_index} is a bitmap font, not an outline font")
        self.size = size
        self.canvas = canvas
        self.placement = placement
        self.fit_margin = fit_margin
        try:
            self.face.set_pixel_sizes(size, size)  # fails on an absurd unitsPerEm
        except freetype.FT_Exception as err:
            raise FontError(
                f"{path}: FreeType cannot scale face {face_index} ({ft_error_text(err)})"
            ) from None
        slot = self.face._FT_Face.contents.glyph.contents
        self._slot = slot
        self._outline = slot.outline
        self._outline_addr = ctypes.addressof(slot.outline)
        self._face_addr = ctypes.cast(self.face._FT_Face, c_void_p).value
        self._library_addr = ctypes.cast(freetype.get_handle(), c_void_p).value
        self._bitmap = _Bitmap(canvas, canvas, canvas, None, 256, _FT_PIXEL_MODE_GRAY, 0, None)
        self._bitmap_addr = ctypes.addressof(self._bitmap)
        self._advance = ctypes.c_long(0)
        self._advance_addr = ctypes.addressof(self._advance)
        self._origins: dict[int, int] = {}  # advance (font units) → pen origin x in 26.6
        self.geometry: Geometry | None = None
        if placement == "em":
            self.geometry = self._em_geometry(face_index & 0xFFFF, baseline_row)  # low bits: face
            self._baseline_26_6 = round((canvas - self.geometry.baseline_row) * 64)
            self._fixed_origin = None if origin_x is None else round(origin_x * 64)

    def _em_geometry(self, face_index: int, baseline_row: float | None) -> Geometry:
        """The face's ``em`` geometry: its metrics, usual Hangul advance and baseline row."""
        upm = int(self.face.units_per_EM)
        bottoms, tops, advances = self.sample_hangul()
        metrics = VerticalMetrics.from_font(self.path, face_index)
        if metrics is None or metrics.units_per_em != upm:
            metrics = VerticalMetrics.cjk_default(upm)  # tables fontTools cannot read
        else:
            units = upm / (self.size * 64)  # 26.6 pixels at this size → font units
            ink = bounds = None
            if tops:
                ink = (np.percentile(bottoms, 1) * units, np.percentile(tops, 99) * units)
                bounds = (min(bottoms) * units, max(tops) * units)
            metrics, notes = metrics.sanitized(ink, bounds)
            for note in notes:
                warn_once(self.path, note)
        if advances:
            values, counts = np.unique(advances, return_counts=True)
            advance = int(values[np.argmax(counts)])
        else:
            advance = upm
        if baseline_row is None:
            if len(tops):
                # centre the ink between the 1st percentile of the bottoms and the 99th of
                # the tops (26.6 pixels above the baseline): robust to a stray tall glyph
                middle = (np.percentile(bottoms, 1) + np.percentile(tops, 99)) / 2 / 64
            else:  # no Hangul drawn: the em box by the old rule
                asc, desc = em_box(self.path, face_index, upm)
                middle = self.size * (asc + desc) / 2 / (asc - desc)
            baseline_row = float(np.floor(self.canvas / 2 + middle + 0.5))
        return Geometry(
            canvas=self.canvas,
            em_px=float(self.size),
            baseline_row=float(baseline_row),
            advance=advance,
            metrics=metrics,
        )

    def sample_hangul(self) -> tuple[list[int], list[int], list[int]]:
        """Bottoms and tops (26.6 pixels above the baseline) and advances (font units) of
        a sample of the face's Hangul outlines. Glyphs FreeType cannot load are passed over:
        they only would have told where the ink sits."""
        get = self.face.get_char_index
        syllables = hangul.all_syllables()
        box = FT_BBox()
        box_addr = ctypes.addressof(box)
        for sample in (syllables[::_INK_SAMPLE_STRIDE], syllables):
            bottoms: list[int] = []
            tops: list[int] = []
            advances: list[int] = []
            for cp in sample:
                gid = get(cp)
                if not gid or _load_glyph(self._face_addr, gid, _LOAD_FLAGS):
                    continue
                if self._outline.n_points <= 0:
                    continue
                _outline_get_cbox(self._outline_addr, box_addr)
                if box.yMax <= box.yMin:
                    continue
                bottoms.append(box.yMin)
                tops.append(box.yMax)
                advances.append(self._font_advance(gid))
            if len(tops) >= _MIN_INK_SAMPLE:
                break
        return bottoms, tops, advances

    def _font_advance(self, gid: int) -> int:
        """A glyph's advance in font units (0 when FreeType cannot tell)."""
        if _get_advance(self._face_addr, gid, _FT_LOAD_NO_SCALE, self._advance_addr):
            return 0
        return int(self._advance.value)

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
        canvas = self.canvas
        out = np.zeros((len(todo_gids), canvas, canvas), dtype=np.uint8)
        drawn = np.zeros(len(todo_gids), dtype=bool)
        failed = np.zeros(len(todo_gids), dtype=bool)
        first_error = ""
        advances = np.zeros(len(todo_gids) if self.placement == "em" else 0, dtype=np.int32)
        if todo_gids:
            base = out.ctypes.data
            stride = canvas * canvas
            em = self.placement == "em"
            for i, gid in enumerate(todo_gids):
                try:
                    if em:
                        advances[i] = self._font_advance(gid)
                        drawn[i] = self._draw_em(gid, int(advances[i]), base + i * stride)
                    else:
                        drawn[i] = self._draw_fit(gid, base + i * stride)
                except FontError as err:
                    # One broken glyph costs that glyph, not the face: the caller
                    # decides from the count whether the face is still sound.
                    failed[i] = True
                    out[i] = 0
                    first_error = first_error or str(err)
        # A glyph with points can still draw no ink on the canvas (degenerate or tiny outline).
        has_ink = out.reshape(len(out), -1).max(axis=1) > 0 if len(out) else drawn
        keep = drawn & has_ink
        return RenderResult(
            images=out[keep] if not keep.all() else out,
            codepoints=todo_cps[keep],
            missing=codepoints[~mapped],
            empty=todo_cps[~keep & ~failed],
            failed=todo_cps[failed],
            first_error=first_error,
            advances=advances[keep] if len(advances) else advances,
            geometry=self.geometry,
        )

    def _load(self, gid: int) -> bool:
        err = _load_glyph(self._face_addr, gid, _LOAD_FLAGS)
        if err:
            raise FontError(f"{self.path}: {ft_error_text(err)} loading glyph {gid}")
        return self._outline.n_points > 0

    def _origin_26_6(self, advance: int) -> int:
        origin = self._origins.get(advance)
        if origin is None:
            assert self.geometry is not None
            origin = self._origins[advance] = round(self.geometry.origin_x(advance) * 64)
        return origin

    def _draw_em(self, gid: int, advance: int, address: int) -> bool:
        if not self._load(gid):
            return False
        origin = self._fixed_origin
        if origin is None:
            origin = self._origin_26_6(advance)
        _outline_translate(self._outline_addr, origin, self._baseline_26_6)
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
        inner = self.canvas * (1 - 2 * self.fit_margin) * 64
        scale = min(inner / width, inner / height)
        matrix = FT_Matrix(round(scale * 65536), 0, 0, round(scale * 65536))
        _outline_transform(self._outline_addr, ctypes.addressof(matrix))
        centre = self.canvas * 32  # half the canvas in 26.6
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
