"""A damaged ``hhea`` header that FreeType would trust, checked and mended in memory.

FreeType finds a glyph's advance and left side bearing in ``hmtx`` through the glyph
count of ``maxp`` and ``hhea``'s ``numberOfHMetrics``, and places an outline by that
bearing. A garbled count reads them from the wrong place: a NanumGothic whose ``hhea``
is random bytes draws a third of its glyphs shifted sideways, with advances of 0, and
nothing fails. The count a sound ``hmtx`` holds follows from its length (four bytes per
long metric, two per further bearing), so a wrong one is mended in a copy of the file
that FreeType reads from memory; the file itself is never written.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from hangulgan.errors import FontError

# Bytes a table's recorded length may exceed its content by (padding to 4).
_PADDING = 3


class _Reader:
    """Reads a few bytes at a time from a font file: the check costs microseconds even for
    a 20 MB collection; the whole file is read only to mend it."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.size = handle.seek(0, 2)

    def unpack(self, fmt: str, at: int) -> tuple:
        size = struct.calcsize(fmt)
        if at < 0 or at + size > self.size:
            raise struct.error("beyond the end of the file")
        self.handle.seek(at)
        return struct.unpack(fmt, self.handle.read(size))


def _table_directory(font: _Reader, face_index: int) -> dict[str, tuple[int, int]] | None:
    """tag → (offset, length) of one face's tables; None for a file that is not a plain
    sfnt (WOFF, WOFF2) or whose directory cannot be read."""
    try:
        start = 0
        if font.unpack(">4s", 0)[0] == b"ttcf":
            (count,) = font.unpack(">I", 8)
            if not 0 <= face_index < count:
                return None
            (start,) = font.unpack(">I", 12 + 4 * face_index)
        if font.unpack(">4s", start)[0] not in (b"\0\1\0\0", b"OTTO", b"true"):
            return None
        (num_tables,) = font.unpack(">H", start + 4)
        tables = {}
        for i in range(num_tables):
            tag, _, offset, length = font.unpack(">4sIII", start + 12 + 16 * i)
            tables[tag.decode("latin-1")] = (offset, length)
    except struct.error:
        return None
    return tables


def _field(font: _Reader, table: tuple[int, int], at: int, fmt: str) -> int | None:
    offset, length = table
    if at + struct.calcsize(fmt) > length:
        return None
    try:
        return font.unpack(fmt, offset + at)[0]
    except struct.error:
        return None


def mended_font(path: str | Path, face_index: int = 0) -> tuple[bytes | None, str]:
    """The bytes of ``path`` with face ``face_index``'s ``numberOfHMetrics`` mended, and
    what was mended; ``(None, "")`` when there is nothing to mend (or nothing this can
    tell). FontError when the count is wrong and ``hmtx`` cannot tell the right one.

    The count is wrong when it is 0, exceeds the glyph count, or does not fit ``hmtx``'s
    length while ``loca`` confirms the glyph count (so it is not ``maxp`` or ``hmtx`` that
    is damaged); the right one is the count ``hmtx``'s length holds.
    """
    try:
        with open(path, "rb") as handle:
            return _mend(_Reader(handle), path, face_index & 0xFFFF)
    except OSError:
        return None, ""  # FreeType reports an unreadable file when it opens it


def _mend(font: _Reader, path: str | Path, face_index: int) -> tuple[bytes | None, str]:
    tables = _table_directory(font, face_index)
    if tables is None or not {"hhea", "maxp", "hmtx"} <= tables.keys():
        return None, ""
    count = _field(font, tables["hhea"], 34, ">H")
    glyphs = _field(font, tables["maxp"], 4, ">H")
    hmtx_length = tables["hmtx"][1]
    if count is None or not glyphs:
        return None, ""

    def fits(n: int) -> bool:
        return 1 <= n <= glyphs and 0 <= hmtx_length - (2 * glyphs + 2 * n) <= _PADDING

    if fits(count):
        return None, ""
    if 1 <= count <= glyphs and not _loca_confirms(font, tables, glyphs):
        return None, ""  # maxp or hmtx may be the damaged one: nothing to tell
    right = (hmtx_length - 2 * glyphs) // 2
    if not fits(right):
        raise FontError(
            f"{path}: damaged: hhea numberOfHMetrics {count} does not fit the {glyphs} glyphs "
            f"of its {hmtx_length}-byte hmtx (FreeType would misplace the glyphs)"
        )
    font.handle.seek(0)
    data = font.handle.read()
    offset = tables["hhea"][0] + 34
    mended = data[:offset] + struct.pack(">H", right) + data[offset + 2 :]
    return (
        mended,
        f"damaged hhea: numberOfHMetrics {count} mended to {right}, the count its hmtx holds",
    )


def _loca_confirms(font: _Reader, tables: dict[str, tuple[int, int]], glyphs: int) -> bool:
    """Whether ``loca``'s length says the font has ``glyphs`` glyphs (TrueType outlines)."""
    if "loca" not in tables or "head" not in tables:
        return False
    long_offsets = _field(font, tables["head"], 50, ">h")
    if long_offsets not in (0, 1):
        return False
    expected = (glyphs + 1) * (4 if long_offsets else 2)
    return 0 <= tables["loca"][1] - expected <= _PADDING
