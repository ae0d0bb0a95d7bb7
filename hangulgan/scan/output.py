"""What ``from-scan`` writes: a glyph set of the written syllables with ``preview.png``, a
contact sheet that puts each box as photographed beside the glyph read from it.

The folder appears whole or not at all, and carries from-scan's mark, so ``--force``
replaces only a folder from-scan made (:func:`check_out`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hangulgan.data.glyphset import GlyphSet
from hangulgan.io import atomic_dir, made_by
from hangulgan.scan import ScanError
from hangulgan.scan.layout import SHEET_VERSION
from hangulgan.scan.read import BoxReading, PageReading

MAKER = "from-scan"  # the folder mark (hangulgan.io.mark_made)
SOURCE = "hangulgan from-scan"  # the glyph set's meta.source
PREVIEW = "preview.png"
PNG_SOFTWARE = "hangulgan"
GLYPH_ZOOM = 3
COLUMNS = 5
PROBLEM_COLOUR = (200, 40, 40)


def boxes(readings: Sequence[PageReading]) -> list[BoxReading]:
    """Every box of the pages, in sheet order."""
    return [box for reading in readings for box in reading.boxes]


def skipped(readings: Sequence[PageReading]) -> list[BoxReading]:
    """The boxes that gave no glyph, in sheet order."""
    return [box for box in boxes(readings) if box.glyph is None]


def written_glyphset(
    readings: Sequence[PageReading], placement: dict[str, Any], name: str
) -> GlyphSet:
    """The glyphs read, in sheet order, as a glyph set in ``placement`` (the ``placement``
    and ``geometry`` meta of the corpus convention they were mapped into), with the sheet
    and what was skipped recorded in its meta."""
    read = [box for box in boxes(readings) if box.glyph is not None]
    meta = {
        "source": SOURCE,
        **placement,
        "scan": {
            "sheet": readings[0].page.sheet_id,
            "sheet_version": SHEET_VERSION,
            "pages": {str(r.page.number): r.path.name for r in readings},
            "pages_in_sheet": readings[0].page.pages,
            "skipped": [
                {"syllable": b.syllable, "page": b.page, "reason": b.problem, "detail": b.detail}
                for b in skipped(readings)
            ],
        },
    }
    return GlyphSet(
        images=np.stack([box.glyph for box in read]),
        codepoints=np.array([ord(box.syllable) for box in read], dtype=np.int32),
        name=name,
        meta=meta,
    )


def contact_sheet(readings: Sequence[PageReading]):
    """A PIL image: for each box, as photographed (rectified, its printed syllable above
    it) beside the glyph read from it, or the reason it was skipped in red."""
    from PIL import Image, ImageDraw, ImageFont

    cells = boxes(readings)
    first = cells[0]
    pic_h, pic_w = first.picture.shape
    glyph_side = (first.glyph.shape[0] if first.glyph is not None else 32) * GLYPH_ZOOM
    for cell in cells:
        if cell.glyph is not None:
            glyph_side = cell.glyph.shape[0] * GLYPH_ZOOM
            break
    gap, caption = 8, 14
    cell_w = pic_w + gap + glyph_side + 2 * gap
    cell_h = max(pic_h, glyph_side) + caption + gap
    rows = (len(cells) + COLUMNS - 1) // COLUMNS
    sheet = Image.new("RGB", (COLUMNS * cell_w + gap, rows * cell_h + gap), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for i, cell in enumerate(cells):
        x = gap + (i % COLUMNS) * cell_w
        y = gap + (i // COLUMNS) * cell_h
        sheet.paste(Image.fromarray(cell.picture).convert("RGB"), (x, y))
        gx, gy = x + pic_w + gap, y + pic_h - glyph_side
        if cell.glyph is not None:
            glyph = Image.fromarray(255 - cell.glyph).resize(
                (glyph_side, glyph_side), Image.NEAREST
            )
            sheet.paste(glyph.convert("RGB"), (gx, gy))
            draw.rectangle((gx - 1, gy - 1, gx + glyph_side, gy + glyph_side), outline=(190,) * 3)
            label = f"page {cell.page}"
            colour = (90, 90, 90)
        else:
            draw.rectangle(
                (gx - 1, gy - 1, gx + glyph_side, gy + glyph_side), outline=PROBLEM_COLOUR
            )
            label = f"page {cell.page}: {cell.problem}"
            colour = PROBLEM_COLOUR
            draw.text((gx + 4, gy + glyph_side // 2 - 6), cell.problem, fill=colour, font=font)
        draw.text((x, y + max(pic_h, glyph_side) + 2), label, fill=colour, font=font)
    return sheet


def check_out(out: Path, force: bool) -> bool:
    """ScanError unless ``out`` may be written; True when an existing folder is replaced.
    A new or empty folder is written; with ``force`` only a folder from-scan made."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ScanError(f"{out}: exists and is not a folder; --out takes a folder to write")
    if not out.exists():
        return False
    if not any(out.iterdir()):
        return True
    if not force:
        raise ScanError(f"{out}: already exists (replace it with --force)")
    if not made_by(out, MAKER):
        raise ScanError(
            f"{out}: not a folder from-scan wrote; --force replaces only from-scan's own "
            "output, never other files (write to a new folder)"
        )
    return True


def write_scan(glyphs: GlyphSet, readings: Sequence[PageReading], out: Path, replace: bool):
    """Write the glyph set and its contact sheet as the folder ``out``, atomically, marked
    as from-scan's."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Software", PNG_SOFTWARE)
    try:
        with atomic_dir(out, replace=replace, mark=MAKER) as tmp:
            # the glyph set's own writer, into the temporary folder (it swaps in a new one)
            glyphs.save(tmp, overwrite=True, mark=MAKER)
            contact_sheet(readings).save(tmp / PREVIEW, format="PNG", pnginfo=info)
    except OSError as err:
        raise ScanError(f"{out}: cannot write ({err.strerror or err})") from None
    return out
