"""Damaged fonts made from sound ones, for the tests that a broken font never stops a run.

Every damage works on the raw bytes of a single-face sfnt (TrueType or CFF-based
OpenType), located through fontTools' table directory: bytes flipped, the file
truncated, a table zeroed, garbled, dropped or cut short, and single fields set to
absurd values (unitsPerEm, ascenders, numGlyphs, an empty cmap, the loca format).
Table checksums are left stale, as in a file damaged on disk.
"""

from __future__ import annotations

import io
import random
import struct
from collections.abc import Iterator
from pathlib import Path

from fontTools.ttLib.sfnt import SFNTReader


def table_directory(data: bytes) -> dict[str, tuple[int, int]]:
    """tag → (offset, length) of every table of an sfnt (of the first face of a
    collection); offsets count from the start of the file."""
    reader = SFNTReader(io.BytesIO(data), fontNumber=0)
    return {tag: (entry.offset, entry.length) for tag, entry in reader.tables.items()}


def _replace(data: bytes, offset: int, new: bytes) -> bytes:
    return data[:offset] + new + data[offset + len(new) :]


def _set_field(data: bytes, tag: str, field_offset: int, fmt: str, value: int) -> bytes | None:
    tables = table_directory(data)
    if tag not in tables:
        return None
    offset, length = tables[tag]
    if field_offset + struct.calcsize(fmt) > length:
        return None
    return _replace(data, offset + field_offset, struct.pack(fmt, value))


def _rename_table(data: bytes, tag: str, new_tag: bytes) -> bytes | None:
    # A table record is 16 bytes from offset 12: tag, checksum, offset, length.
    if data[:4] == b"ttcf":
        return None  # a collection's directories lie elsewhere
    num_tables = struct.unpack(">H", data[4:6])[0]
    for i in range(num_tables):
        record = 12 + 16 * i
        if data[record : record + 4] == tag.encode("latin-1"):
            return _replace(data, record, new_tag)
    return None


def _shorten_table(data: bytes, tag: str, length: int) -> bytes | None:
    if data[:4] == b"ttcf":
        return None
    num_tables = struct.unpack(">H", data[4:6])[0]
    for i in range(num_tables):
        record = 12 + 16 * i
        if data[record : record + 4] == tag.encode("latin-1"):
            return _replace(data, record + 12, struct.pack(">I", length))
    return None


def damaged_variants(data: bytes, seed: int = 0) -> Iterator[tuple[str, bytes]]:
    """(label, damaged bytes) pairs made from one sound font's bytes (a collection's
    tables are those of its first face); deterministic per seed."""
    rng = random.Random(seed)
    size = len(data)
    tables = table_directory(data)
    for count in (1, 3, 10, 30, 100, 300):
        for attempt in range(2):
            flipped = bytearray(data)
            for _ in range(count):
                position = rng.randrange(size)
                flipped[position] ^= rng.randrange(1, 256)
            yield f"flip{count}-{attempt}", bytes(flipped)
    for fraction in (0.02, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99):
        yield f"truncate{int(fraction * 100)}", data[: int(size * fraction)]
    for tag, (offset, length) in sorted(tables.items()):
        safe = tag.strip().replace("/", "_")
        yield f"zero-{safe}", _replace(data, offset, bytes(length))
        yield f"garble-{safe}", _replace(data, offset, rng.randbytes(length))
        if length > 64:
            start = offset + rng.randrange(length - 64)
            yield f"garble64-{safe}", _replace(data, start, rng.randbytes(64))
    for tag in ("glyf", "loca", "CFF ", "cmap", "hmtx", "head", "maxp"):
        if tag in tables:
            safe = tag.strip()
            dropped = _rename_table(data, tag, b"zzzz")
            if dropped is not None:
                yield f"drop-{safe}", dropped
            shortened = _shorten_table(data, tag, max(0, tables[tag][1] // 3))
            if shortened is not None:
                yield f"short-{safe}", shortened
    # head: unitsPerEm at 18, indexToLocFormat at 50
    for upm in (0, 1, 15, 16, 16385, 65535):
        variant = _set_field(data, "head", 18, ">H", upm)
        if variant is not None:
            yield f"upm{upm}", variant
    for fmt_value in (1, 7):
        variant = _set_field(data, "head", 50, ">h", fmt_value)
        if variant is not None:
            yield f"locformat{fmt_value}", variant
    # OS/2: sTypoAscender at 68, sTypoDescender at 70; hhea: ascender at 4, descender at 6
    for name, tag, field_offset, value in (
        ("typoasc-max", "OS/2", 68, 32767),
        ("typoasc-min", "OS/2", 68, -32768),
        ("typodesc-max", "OS/2", 70, 32767),
        ("hheaasc-max", "hhea", 4, 32767),
        ("hheadesc-min", "hhea", 6, -32768),
    ):
        variant = _set_field(data, tag, field_offset, ">h", value)
        if variant is not None:
            yield name, variant
    # maxp: numGlyphs at 4
    num_glyphs = struct.unpack(">H", data[tables["maxp"][0] + 4 : tables["maxp"][0] + 6])[0]
    for value in (0, 1, num_glyphs // 2, num_glyphs + 50, 65535):
        variant = _set_field(data, "maxp", 4, ">H", value)
        if variant is not None:
            yield f"numglyphs{value}", variant
    # cmap: numTables at 2 (0 = an empty cmap)
    variant = _set_field(data, "cmap", 2, ">H", 0)
    if variant is not None:
        yield "cmap-empty", variant


def break_glyphs(path: Path, codepoints: list[int]) -> Path:
    """Damage the outlines of ``codepoints`` in a TrueType font in place, so that FreeType
    fails to load them ("invalid outline") while every other glyph stays sound."""
    from fontTools.ttLib import TTFont

    font = TTFont(str(path))
    cmap = font.getBestCmap()
    gids = [font.getGlyphID(cmap[cp]) for cp in codepoints]
    font.close()
    data = bytearray(Path(path).read_bytes())
    tables = table_directory(bytes(data))
    loca_offset = tables["loca"][0]
    glyf_offset = tables["glyf"][0]
    long_loca = struct.unpack(">h", data[tables["head"][0] + 50 : tables["head"][0] + 52])[0]
    for gid in gids:
        if long_loca:
            start = struct.unpack(">I", data[loca_offset + 4 * gid : loca_offset + 4 * gid + 4])[0]
        else:
            start = (
                2 * struct.unpack(">H", data[loca_offset + 2 * gid : loca_offset + 2 * gid + 2])[0]
            )
        # A simple glyph: numberOfContours, bbox, then endPtsOfContours: make the first
        # contour end beyond every point the glyph has.
        at = glyf_offset + start + 10
        data[at : at + 2] = struct.pack(">H", 0xFFF0)
    Path(path).write_bytes(bytes(data))
    return Path(path)


def set_fields(path: Path, fields: list[tuple[str, int, str, int]]) -> Path:
    """Set fields of a single-face font's tables in place: (tag, offset in the table,
    struct format, value) each, e.g. ``("hhea", 34, ">H", 60046)`` for numberOfHMetrics;
    checksums left stale, as in a file damaged on disk."""
    data = Path(path).read_bytes()
    for tag, field_offset, fmt, value in fields:
        changed = _set_field(data, tag, field_offset, fmt, value)
        if changed is None:
            raise ValueError(f"{path}: no {tag} field at {field_offset}")
        data = changed
    Path(path).write_bytes(data)
    return Path(path)


def shorten_table(path: Path, tag: str, length: int) -> Path:
    """Record a shorter length for table ``tag`` of a single-face font, in place."""
    data = _shorten_table(Path(path).read_bytes(), tag, length)
    if data is None:
        raise ValueError(f"{path}: no {tag} table")
    Path(path).write_bytes(data)
    return Path(path)


def render_or_die(info, settings, out_dir):
    """A render worker that dies (SIGKILL, as a crash inside FreeType would end it) on a
    face whose family starts with "Crash", and renders every other face."""
    import os
    import signal

    from hangulgan.data import corpus_face

    if info.family.startswith("Crash"):
        os.kill(os.getpid(), signal.SIGKILL)
    return corpus_face.render_one_face(info, settings, out_dir)


def render_slowly(info, settings, out_dir):
    """A render worker that takes three seconds over a face whose family starts with
    "Slow" (a big face, say), so a test can stop a render while its workers are busy."""
    import time

    from hangulgan.data import corpus_face

    if info.family.startswith("Slow"):
        time.sleep(3)
    return corpus_face.render_one_face(info, settings, out_dir)


def write_damaged(source: Path, folder: Path, prefix: str, seed: int = 0) -> list[Path]:
    """Write every damaged variant of ``source`` into ``folder``; return their paths."""
    data = Path(source).read_bytes()
    suffix = Path(source).suffix
    paths = []
    for label, damaged in damaged_variants(data, seed):
        path = folder / f"{prefix}-{label}{suffix}"
        path.write_bytes(damaged)
        paths.append(path)
    return paths
