"""Specimens of a built font: a PNG set by FreeType from the font file itself, and an HTML
page that loads the file through ``@font-face`` (what a browser, and OTS, will do with it).

Both are named after the font (``Round.ttf`` → ``Round.specimen.png`` and
``Round.specimen.html``), so fonts exported into one folder each keep their own, and both
carry a marker (a PNG text chunk, an HTML ``generator`` meta tag) by which
``export-ttf --force`` knows a specimen it may replace from a user's file.
"""

from __future__ import annotations

import html
import io
import os
from pathlib import Path
from urllib.parse import quote

import numpy as np
from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from hangulgan import hangul
from hangulgan.errors import FontError, VectorError
from hangulgan.io import atomic_path
from hangulgan.vector.files import readable_by_all

# the names write_specimens gives, after the font's own: FONT.specimen.png, FONT.specimen.html
SPECIMEN_SUFFIXES = (".specimen.png", ".specimen.html")
# the markers of a specimen this module wrote: a PNG tEXt chunk, an HTML meta tag
PNG_MARK_KEY, PNG_MARK = "Software", "hangulgan export-ttf specimen"
HTML_MARK = '<meta name="generator" content="hangulgan export-ttf specimen">'
PANGRAMS = (
    "키스의 고유조건은 입술끼리 만나야 하고 특별한 기술은 필요치 않다.",
    "다람쥐 헌 쳇바퀴에 타고파",
    "한글 글꼴 초안 가나다라마바사아자차카타파하",
)


def _font_cmap(path: Path) -> tuple[dict[int, int], str, int]:
    """code point → advance (font units), family name, units per em."""
    from fontTools.ttLib import TTFont, TTLibError

    try:
        with TTFont(str(path), lazy=True) as font:
            cmap = font.getBestCmap() or {}
            hmtx = font["hmtx"]
            upm = font["head"].unitsPerEm
            name = font["name"].getBestFamilyName() or path.stem
            return {cp: hmtx[g][0] for cp, g in cmap.items()}, name, upm
    except (TTLibError, OSError, KeyError) as err:
        raise VectorError(f"{path}: cannot read font for the specimen ({err})") from None


def set_line(path: Path, text: str, size: int, advances: dict[int, int], upm: int) -> np.ndarray:
    """Set one line of ``text`` at ``size`` px per em with FreeType; uint8 ink, height
    ``size``. Characters the font lacks leave a gap of one em (no fallback font is used)."""
    from hangulgan.data.render import FaceRenderer

    cps = [ord(ch) for ch in text]
    mapped = sorted({cp for cp in cps if cp in advances and cp != 0x20})
    try:
        renderer = FaceRenderer(str(path), 0, size, "em")
        result = renderer.render(mapped)
    except FontError as err:
        raise VectorError(str(err)) from None
    geometry = renderer.geometry
    assert geometry is not None
    images = dict(zip(result.codepoints.tolist(), result.images, strict=True))
    widths = [advances.get(cp, upm) * size / upm for cp in cps]
    line = np.zeros((size, int(np.ceil(sum(widths))) + size), dtype=np.uint8)
    pen = 0.0
    for cp, width in zip(cps, widths, strict=True):
        image = images.get(cp)
        if image is not None:
            # the renderer puts the pen origin_x pixels right of the canvas's left edge
            left = int(round(pen - geometry.origin_x(advances[cp])))
            x0, x1 = max(left, 0), min(left + size, line.shape[1])
            if x1 > x0:
                region = line[:, x0:x1]
                np.maximum(region, image[:, x0 - left : x1 - left], out=region)
        pen += width
    return line[:, : int(np.ceil(pen)) or 1]


def specimen_png(
    font_path: str | Path,
    out: str | Path,
    grid_size: int = 32,
    grid_columns: int = 32,
    grid_rows: int = 16,
    width: int = 1200,
) -> Path:
    """Write a PNG: the family name, the pangrams at three sizes, and a grid of the first
    ``grid_columns × grid_rows`` syllables the font maps, all set from ``font_path``."""
    from hangulgan.data.render import render_face

    font_path, out = Path(font_path), Path(out)
    advances, family, upm = _font_cmap(font_path)
    syllables = [cp for cp in sorted(advances) if hangul.is_syllable(cp)]
    margin = 24
    caption_font = ImageFont.load_default()
    blocks: list[tuple[np.ndarray | None, str]] = [(None, f"{family} - {len(syllables)} syllables")]
    for size in (48, 32, 20):
        for text in PANGRAMS[:2] if size != 20 else PANGRAMS:
            blocks.append((set_line(font_path, text, size, advances, upm), ""))
    grid_cps = syllables[: grid_columns * grid_rows]
    if grid_cps:
        blocks.append((None, f"first {len(grid_cps)} syllables, {grid_size} px"))
        result = render_face(str(font_path), grid_cps, size=grid_size, placement="em")
        rows = int(np.ceil(len(result.images) / grid_columns))
        grid = np.zeros((rows * grid_size, grid_columns * grid_size), dtype=np.uint8)
        for i, image in enumerate(result.images):
            r, c = divmod(i, grid_columns)
            grid[r * grid_size : (r + 1) * grid_size, c * grid_size : (c + 1) * grid_size] = image
        blocks.append((grid, ""))
    height = margin
    for block, _caption in blocks:
        height += (block.shape[0] if block is not None else 16) + 12
    width = max(
        width, max((b.shape[1] for b, _ in blocks if b is not None), default=0) + 2 * margin
    )
    canvas = Image.new("L", (width, height + margin), 255)
    draw = ImageDraw.Draw(canvas)
    y = margin
    for block, caption in blocks:
        if block is None:
            draw.text((margin, y), caption, fill=90, font=caption_font)
            y += 16 + 12
            continue
        # ink (255) prints dark on white paper
        canvas.paste(Image.fromarray(255 - block[:, : width - 2 * margin]), (margin, y))
        y += block.shape[0] + 12
    buffer = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    info.add_text(PNG_MARK_KEY, PNG_MARK)
    canvas.save(buffer, format="PNG", optimize=True, pnginfo=info)
    _write(out, buffer.getvalue())
    return out


def specimen_html(font_path: str | Path, out: str | Path, family: str | None = None) -> Path:
    """Write an HTML page that loads ``font_path`` with ``@font-face`` (by a path relative to
    the page) and sets the pangrams and every mapped syllable in it."""
    font_path, out = Path(font_path), Path(out)
    advances, found_family, _upm = _font_cmap(font_path)
    family = family or found_family
    rel = os.path.relpath(font_path.resolve(), out.resolve().parent)
    url = quote(Path(rel).as_posix())
    fmt = "opentype" if font_path.suffix.lower() == ".otf" else "truetype"
    face = "hangulgan-specimen"
    syllables = "".join(chr(cp) for cp in sorted(advances) if hangul.is_syllable(cp))
    sizes = "".join(
        f'<p style="font-size:{px}px">{html.escape(text)}</p>\n'
        for px in (72, 48, 24, 16)
        for text in PANGRAMS[:2]
    )
    page = f"""<!DOCTYPE html>
<html lang="ko">
<head>
<meta charset="utf-8">
{HTML_MARK}
<title>{html.escape(family)} specimen</title>
<style>
@font-face {{
  font-family: "{face}";
  src: url("{url}") format("{fmt}");
}}
body {{ margin: 2em; font-family: sans-serif; color: #111; }}
.set {{ font-family: "{face}", sans-serif; line-height: 1.3; }}
.grid {{ font-family: "{face}"; font-size: 32px; line-height: 1.2;
         word-break: break-all; letter-spacing: 0.1em; }}
h1 {{ font-size: 20px; font-weight: normal; }}
</style>
</head>
<body>
<h1>{html.escape(family)} &mdash; {len(syllables)} syllables &mdash;
<a href="{url}">{html.escape(font_path.name)}</a></h1>
<div class="set">
{sizes}</div>
<h1>All syllables</h1>
<div class="grid">{html.escape(syllables)}</div>
</body>
</html>
"""
    _write(out, page.encode("utf-8"))
    return out


def _write(out: Path, data: bytes) -> None:
    """Atomically, and readable by all (a web server serves the page and the PNG)."""
    try:
        with atomic_path(out) as tmp:
            tmp.write_bytes(data)
            readable_by_all(tmp)
    except OSError as err:
        raise VectorError(f"{out}: cannot write specimen ({err.strerror or err})") from None


def specimen_paths(font_path: str | Path, folder: str | Path) -> tuple[Path, Path]:
    """Where :func:`write_specimens` puts the PNG and the page of ``font_path``'s specimen
    in ``folder``: named after the font file."""
    stem = Path(font_path).stem
    png_suffix, html_suffix = SPECIMEN_SUFFIXES
    return Path(folder) / f"{stem}{png_suffix}", Path(folder) / f"{stem}{html_suffix}"


def is_specimen(path: str | Path) -> bool:
    """True when ``path`` is a specimen this module wrote (by its marker), so
    ``export-ttf --force`` may replace it."""
    path = Path(path)
    try:
        if path.suffix == ".png":
            with Image.open(path) as image:
                return getattr(image, "text", {}).get(PNG_MARK_KEY) == PNG_MARK
        with open(path, "rb") as handle:
            return HTML_MARK.encode() in handle.read(4096)
    except (OSError, ValueError, SyntaxError):  # PIL raises these on a file not a PNG
        return False


def write_specimens(font_path: str | Path, folder: str | Path) -> tuple[Path, Path]:
    """The PNG and HTML specimens of ``font_path`` in ``folder``, named after the font
    (:func:`specimen_paths`)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise VectorError(f"{folder}: specimen folder does not exist")
    png_path, page_path = specimen_paths(font_path, folder)
    png = specimen_png(font_path, png_path)
    page = specimen_html(font_path, page_path)
    return png, page
