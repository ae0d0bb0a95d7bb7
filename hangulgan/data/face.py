"""One font face: where it is, what it is called, what it covers, and its drawing signature.

A face is one (file, index) pair: a TTC/OTC holds several. Its identity is its names
plus the file's SHA-256; its *drawing signature* hashes its Hangul coverage and the
outlines of sample syllables, so faces whose Hangul are the same drawings (the ten
faces of NotoSansCJK-Regular.ttc) are recognised as one.

Discovery (:mod:`hangulgan.data.fonts`) and web fonts split over subset files
(:mod:`hangulgan.data.webfonts`) both build on these records.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import freetype
import numpy as np

from hangulgan.data.render import ft_error_text

# Sample syllables whose outlines sign a face's Hangul drawings: frequent, varied shapes.
SIGNATURE_TEXT = "가나다라마바사아자차카타파하한글꽃봄값읽흙뷁쀍똠빵"
# Outlines as drawn: font units, no hinting.
OUTLINE_LOAD = freetype.FT_LOAD_NO_SCALE | freetype.FT_LOAD_NO_HINTING


@dataclass
class FaceInfo:
    """One font face: where it is, what it is called, and which syllables it maps."""

    path: Path
    index: int
    family: str
    style: str
    postscript_name: str
    file_sha256: str
    num_faces: int
    covered: np.ndarray  # code points of the charset that the cmap maps
    licence: str = ""
    signature: str = ""
    face_id: str = field(default="")
    # Copies of the same drawings in other files, soundest first: rendered in this face's
    # place when it turns out damaged.
    alternates: list[FaceInfo] = field(default_factory=list)

    @property
    def display_name(self) -> str:
        """Family and style, e.g. 'NanumGothic Bold'."""
        return f"{self.family} {self.style}".strip()


@dataclass
class SkippedFont:
    """A font path or face that was passed over, and why (cf. SkippedGlyph in export)."""

    path: Path
    reason: str
    duplicate: bool = False  # the same drawings are kept under another face: not a problem
    # (family, style, PostScript name) of a face that maps none of the charset: a web font's
    # subset file of this name beside the others is part of their face, not a skip
    names: tuple[str, str, str] = ()

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def face_label(path: Path, index: int, num_faces: int) -> Path:
    """How reports name a face: its path, with ``#index`` inside a collection."""
    return path if index == 0 and num_faces == 1 else Path(f"{path}#{index}")


class OutlineSource(Protocol):
    """What :func:`drawing_signature` reads of a face: ``freetype.Face`` has it, and so
    does a face spread over several subset files (``webfonts``)."""

    def get_char_index(self, codepoint: int) -> int:
        """The glyph index a code point maps to; 0 when unmapped."""
        ...

    def load_glyph(self, gid: int, flags: int) -> None:
        """Load one glyph into :attr:`glyph`."""
        ...

    @property
    def glyph(self) -> freetype.GlyphSlot:
        """The slot the last :meth:`load_glyph` filled."""
        ...


def drawing_signature(face: OutlineSource, covered: np.ndarray) -> str:
    """Hash of a face's Hangul coverage and the outlines of :data:`SIGNATURE_TEXT`: equal
    for faces that draw the same Hangul, whatever their names or files (16 hex digits)."""
    digest = hashlib.sha256(np.ascontiguousarray(covered, dtype=np.int32).tobytes())
    for ch in SIGNATURE_TEXT:
        gid = face.get_char_index(ord(ch))
        if not gid:
            continue
        try:
            face.load_glyph(gid, OUTLINE_LOAD)
        except freetype.FT_Exception as err:
            # A damaged sample glyph signs as its error: the face goes on to rendering,
            # which decides whether it is sound enough to keep.
            digest.update(f"error {ch} {ft_error_text(err)}".encode())
            continue
        outline = face.glyph.outline
        digest.update(np.asarray(outline.points, dtype=np.int64).tobytes())
        digest.update(np.asarray(outline.contours, dtype=np.int64).tobytes())
    return digest.hexdigest()[:16]
