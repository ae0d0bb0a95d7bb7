"""Sample grids and visual sheets: model images in [-1, 1] → one PNG.

Glyph images (``ink``: +1 = ink) are drawn black on white paper; other images (RGB
photographs, paintings, attention maps) are drawn as they are, 1 channel as grey.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from hangulgan.data.sheets import PNG_SOFTWARE, marked_png_info
from hangulgan.io import atomic_path

_BACKGROUND = 200  # the grey between tiles


def to_uint8_ink(images: torch.Tensor) -> np.ndarray:
    """N×C×H×W (or N×H×W) floats in [-1, 1] → N×H×W uint8 ink (0 paper, 255 ink)."""
    if images.dim() == 4:
        images = images[:, 0]
    ink = ((images.float().clamp(-1, 1) + 1.0) * 127.5).round()
    return ink.to(torch.uint8).cpu().numpy()


def to_display(images: torch.Tensor, ink: bool = True) -> np.ndarray:
    """N×C×H×W floats in [-1, 1] (C = 1 or 3) → N×H×W×C uint8 as they are to be seen.

    ``ink``: glyphs, inverted to black ink on white paper; otherwise values map straight
    to grey levels or RGB.
    """
    if images.dim() == 3:
        images = images.unsqueeze(1)
    if images.shape[1] not in (1, 3):
        raise ValueError(f"images with {images.shape[1]} channels: draw 1 or 3")
    pixels = ((images.detach().float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    pixels = pixels.permute(0, 2, 3, 1).cpu().numpy()
    return 255 - pixels if ink else pixels


def grid_image(
    tiles: np.ndarray, cols: int | None = None, pad: int = 2, scale: int = 2
) -> Image.Image:
    """Tile N×H×W×C uint8 display images (C = 1 or 3) into one image.

    N×H×W arrays are taken as glyph ink (0 paper, 255 ink) and drawn black on white.
    """
    if tiles.ndim == 3:
        tiles = (255 - tiles)[..., None]
    n, h, w, c = tiles.shape
    cols = cols or max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / cols))
    sheet = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), _BACKGROUND, np.uint8)
    for i in range(n):
        r, col = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + col * (w + pad)
        sheet[y : y + h, x : x + w] = tiles[i]
    image = Image.fromarray(sheet[..., 0] if c == 1 else sheet, mode="L" if c == 1 else "RGB")
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    return image


def drawn_by_hangulgan(path: str | Path) -> bool:
    """Whether ``path`` is a PNG grid or sheet that hangulgan wrote (its Software mark)."""
    try:
        with Image.open(path) as image:
            return image.format == "PNG" and image.text.get("Software") == PNG_SOFTWARE
    except (OSError, ValueError, Image.DecompressionBombError):
        return False


def save_grid(
    images: torch.Tensor, path: str | Path, cols: int | None = None, ink: bool = True
) -> Path:
    """Write a grid PNG of model images (N×C×H×W in [-1, 1]) atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".png") as tmp:
        image = grid_image(to_display(images, ink), cols=cols)
        image.save(tmp, format="PNG", pnginfo=marked_png_info())
    return path


def sheet_image(
    panels: dict[str, torch.Tensor], ink: bool = True, pad: int = 2, scale: int = 2
) -> Image.Image:
    """One row per input, one labelled column per panel (panels may mix 1 and 3 channels)."""
    if not panels:
        raise ValueError("a visual sheet needs at least one panel")
    shown = {name: to_display(images, ink) for name, images in panels.items()}
    rgb = any(tiles.shape[-1] == 3 for tiles in shown.values())
    n = min(len(tiles) for tiles in shown.values())
    h = max(tiles.shape[1] for tiles in shown.values())
    w = max(tiles.shape[2] for tiles in shown.values())
    label = 12
    cols = len(shown)
    sheet = np.full(
        (label + n * (h + pad) + pad, cols * (w + pad) + pad, 3), _BACKGROUND, dtype=np.uint8
    )
    for col, tiles in enumerate(shown.values()):
        if tiles.shape[-1] == 1:
            tiles = np.repeat(tiles, 3, axis=-1)
        th, tw = tiles.shape[1:3]
        for row in range(n):
            y, x = label + pad + row * (h + pad), pad + col * (w + pad)
            sheet[y : y + th, x : x + tw] = tiles[row]
    image = Image.fromarray(sheet, mode="RGB")
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    draw = ImageDraw.Draw(image)
    for col, name in enumerate(shown):
        draw.text(((pad + col * (w + pad)) * scale, 1), name, fill=(0, 0, 0))
    return image if rgb else image.convert("L")


def save_panels(panels: dict[str, torch.Tensor], path: str | Path, ink: bool = True) -> Path:
    """Write a model's visuals: one panel as a plain grid, several as a labelled sheet."""
    if len(panels) == 1:
        return save_grid(next(iter(panels.values())), path, ink=ink)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".png") as tmp:
        sheet_image(panels, ink=ink).save(tmp, format="PNG", pnginfo=marked_png_info())
    return path
