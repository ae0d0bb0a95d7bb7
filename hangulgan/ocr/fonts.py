"""Font faces that set OCR text: HarfBuzz places the glyphs, FreeType draws them.

A :class:`FontFace` is one face of a font file (a WOFF is read through fontTools, since
HarfBuzz reads only plain sfnt data). It answers whether it *draws* a character (its cmap
maps it and the outline has points: no ``.notdef`` box, no empty glyph), shapes a run of
text with the face's own advances, kerning (GPOS or ``kern``) and marks, and draws glyph
bitmaps at a pixel size, cached.

A :class:`FontSource` is one design: the faces of one font (a web font's subset files are
several faces of one design), then the ``--fallback-font`` faces. Hangul (syllables and
jamo) is always drawn by the design itself, since it is what the design is; any other
character (digits, Latin, punctuation, symbols) by the first of its faces that draws it,
else by the first fallback face that does. A text the chain cannot draw whole is never
set from that source.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import freetype
import numpy as np

from hangulgan.errors import FontError

# Hangul syllables, the conjoining jamo and their extensions, the compatibility jamo.
HANGUL_RANGES = ((0xAC00, 0xD7A3), (0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F))
HANGUL_RANGES += ((0xD7B0, 0xD7FF),)
_RENDER = freetype.FT_LOAD_RENDER | freetype.FT_LOAD_NO_HINTING | freetype.FT_LOAD_NO_BITMAP
_OUTLINE = freetype.FT_LOAD_NO_SCALE | freetype.FT_LOAD_NO_HINTING | freetype.FT_LOAD_NO_BITMAP
# HarfBuzz features: the defaults plus kerning, said aloud so that it never depends on
# the version's defaults
FEATURES = {"kern": True, "liga": True}
# The word space when no face of a source maps U+0020, as a fraction of the em: between
# the quarter and third of an em Korean fonts give it (NanumGothic 0.25, Noto Sans CJK
# 0.224, NanumMyeongjo 0.33)
SPACE_EM = 0.3
SPACE = " "


def is_hangul(codepoint: int) -> bool:
    """Whether ``codepoint`` is Hangul: a syllable or a jamo of any block."""
    return any(low <= codepoint <= high for low, high in HANGUL_RANGES)


def font_data(path: Path, index: int = 0) -> bytes:
    """The sfnt bytes of a font file: WOFF and WOFF2 unpacked by fontTools (WOFF2 needs
    the ``brotli`` package), a face with a damaged ``hhea`` mended as the render stage
    mends it, else the file as it is. FontError naming the file when it is unreadable."""
    try:
        head = path.read_bytes()
    except OSError as err:
        raise FontError(f"{path}: cannot read ({err.strerror or err})") from None
    if head[:4] in (b"wOFF", b"wOF2"):
        from fontTools.ttLib import TTFont

        try:
            font = TTFont(io.BytesIO(head), fontNumber=index)
            font.flavor = None
            buffer = io.BytesIO()
            font.save(buffer)
        except Exception as err:  # noqa: BLE001 - fontTools raises many kinds
            raise FontError(f"{path}: cannot unpack the web font ({err})") from None
        return buffer.getvalue()
    from hangulgan.data.mend import mended_font

    mended, _note = mended_font(path, index)
    return head if mended is None else mended


@dataclass
class Glyph:
    """A glyph drawn at one pixel size: its coverage bitmap (0..255) and where its top-left
    pixel lies from the pen position (``left`` to the right, ``top`` above the baseline)."""

    bitmap: np.ndarray
    left: int
    top: int


class FontFace:
    """One face of a font file, drawn by FreeType and shaped by HarfBuzz (see module)."""

    def __init__(self, path: str | Path, index: int = 0, label: str | None = None) -> None:
        import uharfbuzz as hb

        self.path = Path(path)
        self.index = index
        self.label = label or (self.path.name if index == 0 else f"{self.path.name}#{index}")
        data = font_data(self.path, index)
        try:
            self.ft = freetype.Face(io.BytesIO(data), index)
        except freetype.FT_Exception as err:
            raise FontError(f"{self.label}: FreeType cannot open it ({err})") from None
        if not self.ft.is_scalable:
            raise FontError(f"{self.label}: a bitmap font, not an outline font")
        self.upem = int(self.ft.units_per_EM)
        self.hb_font = hb.Font(hb.Face(hb.Blob(data), index))
        self.hb_font.scale = (self.upem, self.upem)
        self._hb = hb
        self._size = 0
        self._drawn: dict[int, int] = {}  # code point → glyph id, 0 when not drawn
        self._glyphs: dict[tuple[int, int], Glyph] = {}
        self.ascender, self.descender = self._em_box(data)

    def _em_box(self, data: bytes) -> tuple[float, float]:
        """Ascender and descender (font units) of the box text is set in: OS/2 typo
        values when they are plausible, else hhea's, else 0.88/-0.12 of the em."""
        pairs = []
        try:
            from fontTools.ttLib import TTFont

            with TTFont(io.BytesIO(data), fontNumber=self.index, lazy=True) as font:
                if "OS/2" in font:
                    pairs.append((font["OS/2"].sTypoAscender, font["OS/2"].sTypoDescender))
        except Exception:  # noqa: BLE001 - an unreadable OS/2: hhea's, then the default
            pass
        pairs.append((self.ft.ascender, self.ft.descender))
        for asc, desc in pairs:
            if 0 < asc <= 2 * self.upem and -self.upem <= desc <= 0:
                if 0.8 * self.upem <= asc - desc <= 2 * self.upem:
                    return float(asc), float(desc)
        return 0.88 * self.upem, -0.12 * self.upem

    def draws(self, codepoint: int) -> int:
        """The glyph id that draws ``codepoint``, or 0: unmapped, or an outline without a
        point (a space character needs only to be mapped: its ink is its advance)."""
        gid = self._drawn.get(codepoint)
        if gid is None:
            gid = self.ft.get_char_index(codepoint)
            if gid and unicodedata.category(chr(codepoint)) != "Zs":
                try:
                    self.ft.load_glyph(gid, _OUTLINE)
                    outline = self.ft.glyph.outline
                    box = outline.get_cbox()
                    if outline.n_points <= 0 or box.xMax <= box.xMin or box.yMax <= box.yMin:
                        gid = 0
                except freetype.FT_Exception:
                    gid = 0
            self._drawn[codepoint] = gid
        return gid

    def shape(self, text: str) -> list[tuple[int, int, int, int]]:
        """``(glyph id, x advance, x offset, y offset)`` of each glyph of ``text`` in font
        units, as HarfBuzz places them with the face's kerning."""
        hb = self._hb
        buffer = hb.Buffer()
        buffer.add_str(text)
        buffer.guess_segment_properties()
        hb.shape(self.hb_font, buffer, FEATURES)
        return [
            (info.codepoint, pos.x_advance, pos.x_offset, pos.y_offset)
            for info, pos in zip(buffer.glyph_infos, buffer.glyph_positions, strict=True)
        ]

    def glyph(self, gid: int, em_px: int) -> Glyph:
        """Glyph ``gid`` drawn unhinted at ``em_px`` pixels per em (cached)."""
        key = (gid, em_px)
        glyph = self._glyphs.get(key)
        if glyph is None:
            if self._size != em_px:
                self.ft.set_pixel_sizes(0, em_px)
                self._size = em_px
            try:
                self.ft.load_glyph(gid, _RENDER)
            except freetype.FT_Exception as err:
                raise FontError(f"{self.label}: cannot draw glyph {gid} ({err})") from None
            slot = self.ft.glyph
            bitmap = slot._FT_GlyphSlot.contents.bitmap  # read in place, not as a list
            rows, width, pitch = int(bitmap.rows), int(bitmap.width), int(bitmap.pitch)
            if rows and width and pitch > 0:
                raw = np.ctypeslib.as_array(bitmap.buffer, (rows * pitch,))
                pixels = raw.reshape(rows, pitch)[:, :width].copy()
            else:
                pixels = np.zeros((0, 0), dtype=np.uint8)
            glyph = self._glyphs[key] = Glyph(pixels, int(slot.bitmap_left), int(slot.bitmap_top))
        return glyph


@dataclass
class FontSource:
    """One design to set text in: its faces, then the fallback faces (see module)."""

    name: str
    faces: list[FontFace]
    fallback: list[FontFace] = field(default_factory=list)
    group: str = ""  # its design for --by style (a family; a drawn style); default: name
    syllables: frozenset[int] | None = None  # the Hangul syllables it may set; None: all
    _chosen: dict[int, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.group = self.group or self.name

    @property
    def chain(self) -> list[FontFace]:
        """The design's faces, then the fallback faces."""
        return [*self.faces, *self.fallback]

    @property
    def main(self) -> FontFace:
        """The face whose metrics place the line (the design's first)."""
        return self.faces[0]

    def face_of(self, ch: str) -> int:
        """Index in :attr:`chain` of the face that draws ``ch``; -1 when none does (a
        space no face maps is set as an advance of :data:`SPACE_EM`: -2)."""
        cp = ord(ch)
        at = self._chosen.get(cp)
        if at is None:
            candidates = self.faces if is_hangul(cp) else self.chain
            at = next((i for i, face in enumerate(candidates) if face.draws(cp)), -1)
            if self.syllables is not None and 0xAC00 <= cp <= 0xD7A3 and cp not in self.syllables:
                at = -1
            if at == -1 and ch == SPACE:
                at = -2
            self._chosen[cp] = at
        return at

    def holds(self, text: str) -> bool:
        """True when some face of the chain draws every character of ``text``."""
        return all(self.face_of(ch) != -1 for ch in text)

    def drawn_hangul(self, codepoints: np.ndarray) -> np.ndarray:
        """The Hangul syllables of ``codepoints`` the design draws."""
        return np.asarray([cp for cp in codepoints.tolist() if self.face_of(chr(cp)) >= 0])
