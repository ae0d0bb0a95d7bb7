"""Preview sheets: glyphs laid out as a PNG grid, ink dark on white."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hangulgan import hangul
from hangulgan.data.corpus import Corpus
from hangulgan.data.glyphset import GlyphSet
from hangulgan.errors import CorpusError, GlyphSetError, HangulganError
from hangulgan.io import atomic_path

# The tEXt "Software" of every grid and sheet hangulgan writes (these previews, and the
# sample grids of hangulgan.train.grid): the mark by which a command's --force knows a PNG
# it may replace; a user's image of the same name is never touched.
PNG_SOFTWARE = "hangulgan"


def marked_png_info() -> Any:
    """PNG metadata that marks a PNG as hangulgan's (:data:`PNG_SOFTWARE`)."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Software", PNG_SOFTWARE)
    return info


def write_tile_sheet(
    tiles: list[list[np.ndarray | None]],
    out: str | Path,
    scale: int,
    row_labels: list[str] | None = None,
) -> Path:
    """Lay out rows of H×W tiles (None = blank cell) as a PNG, ink dark on white; with
    ``row_labels``, each row's label written to its left."""
    from PIL import Image, ImageDraw, ImageFont

    height, width = next(t for row in tiles for t in row if t is not None).shape
    columns = max(len(row) for row in tiles)
    pad = 2
    sheet = np.full(
        (len(tiles) * (height + pad) + pad, columns * (width + pad) + pad), 255, dtype=np.uint8
    )
    for r, row in enumerate(tiles):
        for c, tile in enumerate(row):
            if tile is not None:
                y, x = pad + r * (height + pad), pad + c * (width + pad)
                sheet[y : y + height, x : x + width] = 255 - np.asarray(tile)
    image = Image.fromarray(sheet)
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    if row_labels:
        font = ImageFont.load_default()
        measure = ImageDraw.Draw(image)
        boxes = [measure.textbbox((0, 0), label, font=font) for label in row_labels]
        margin = max(box[2] for box in boxes) + 6 * pad
        labelled = Image.new("L", (image.width + margin, image.height), 255)
        labelled.paste(image, (margin, 0))
        draw = ImageDraw.Draw(labelled)
        row_height = (height + pad) * max(scale, 1)
        for r, (label, box) in enumerate(zip(row_labels, boxes, strict=True)):
            top = pad * max(scale, 1) + r * row_height + (height * max(scale, 1) - box[3]) // 2
            draw.text((2 * pad, top), label, fill=0, font=font)
        image = labelled
    out = Path(out)
    try:
        with atomic_path(out, suffix=".png") as tmp:
            image.save(tmp, format="PNG", pnginfo=marked_png_info())
    except OSError as err:
        raise HangulganError(f"{out}: cannot write preview ({err.strerror or err})") from None
    return out


def preview_sheet(
    glyphs: GlyphSet,
    out: str | Path,
    columns: int = 32,
    count: int = 256,
    scale: int = 2,
    text: str | None = None,
) -> Path:
    """Write a PNG grid of one glyph set (a spread sample, or ``text``) and return its path."""
    if text:
        held = set(glyphs.codepoints.tolist())
        picks = [glyphs.index_of(ord(ch)) for ch in text if ord(ch) in held]
    else:
        step = max(1, len(glyphs) // count)
        picks = list(range(0, len(glyphs), step))[:count]
    if not picks:
        raise GlyphSetError(f"{glyphs.name}: nothing to preview")
    columns = min(columns, len(picks))
    tiles = [
        [glyphs.images[i] for i in picks[start : start + columns]]
        for start in range(0, len(picks), columns)
    ]
    return write_tile_sheet(tiles, out, scale)


def compare_sheet(
    corpus: Corpus,
    text: str,
    out: str | Path,
    faces: list[str] | None = None,
    scale: int = 2,
    labels: bool = True,
) -> Path:
    """One row per face (``faces``, default all), the syllables of ``text`` across:
    styles side by side, each row labelled with its face name unless ``labels`` is off."""
    cps = [ord(ch) for ch in text if hangul.is_syllable(ord(ch))]
    if not cps:
        raise CorpusError(f"--text {text!r}: holds no Hangul syllable")
    names = faces or corpus.face_names
    rows = []
    for name in names:
        glyphs = corpus.face(name, augmented=False)
        held = set(glyphs.codepoints.tolist())
        rows.append([glyphs.image(cp) if cp in held else None for cp in cps])
    if not any(t is not None for row in rows for t in row):
        raise CorpusError(f"{corpus.folder}: no face draws any of {text!r}")
    return write_tile_sheet(rows, out, scale, row_labels=list(names) if labels else None)
