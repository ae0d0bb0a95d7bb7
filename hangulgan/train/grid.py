"""Sample grids: model images in [-1, 1] → one PNG (ink black on white paper)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from hangulgan.io import atomic_path


def to_uint8_ink(images: torch.Tensor) -> np.ndarray:
    """N×C×H×W (or N×H×W) floats in [-1, 1] → N×H×W uint8 ink (0 paper, 255 ink)."""
    if images.dim() == 4:
        images = images[:, 0]
    ink = ((images.float().clamp(-1, 1) + 1.0) * 127.5).round()
    return ink.to(torch.uint8).cpu().numpy()


def grid_image(
    ink: np.ndarray, cols: int | None = None, pad: int = 2, scale: int = 2
) -> Image.Image:
    """Tile N×H×W uint8 ink images into one grey-level image (black ink, white paper)."""
    n, h, w = ink.shape
    cols = cols or max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / cols))
    sheet = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad), 200, dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        sheet[y : y + h, x : x + w] = 255 - ink[i]
    image = Image.fromarray(sheet, mode="L")
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    return image


def save_grid(images: torch.Tensor, path: str | Path, cols: int | None = None) -> Path:
    """Write a grid PNG of model images atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".png") as tmp:
        grid_image(to_uint8_ink(images), cols=cols).save(tmp, format="PNG")
    return path
