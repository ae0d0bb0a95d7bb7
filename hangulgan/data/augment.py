"""Batched, seeded glyph augmentation in torch (CPU or GPU).

One pass per batch: a random affine per glyph (rotation, scale, shear, translation),
plus a smooth elastic displacement, sampled through one ``grid_sample``; then stroke
weight (erode/dilate by one pixel), Gaussian blur and additive noise, each applied to a
random part of the batch. Every glyph's parameters come back as a row, so a corpus can
record how each copy was made, and a seed reproduces them exactly.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

# torch is imported inside the functions: the config and parameter names are read by
# commands (render without --augment, corpus info) that should not pay torch's import.

PARAM_NAMES = (
    "angle_deg",
    "scale",
    "shear_deg",
    "shift_x_px",
    "shift_y_px",
    "elastic_px",
    "stroke",  # -1 (thinner) .. +1 (bolder), 0 none
    "blur_sigma_px",
    "noise_std",
)


@dataclass
class AugmentConfig:
    """Ranges and probabilities of each distortion. Pixel amounts are for a 32 px canvas
    and scale with the canvas size."""

    rotation_deg: float = 15.0  # ± (the original examples' RandomRotation)
    scale_range: tuple[float, float] = (0.9, 1.1)
    shear_deg: float = 8.0  # ±
    shift_px: float = 3.0  # ± per axis
    wrap: bool = True  # translation wraps around (as in the original examples) or pads with paper
    elastic_px: float = 1.5  # largest displacement of the elastic field
    elastic_prob: float = 0.5
    elastic_grid: int = 4  # control points per side of the smooth random field
    stroke_prob: float = 0.3
    blur_prob: float = 0.3
    blur_sigma: tuple[float, float] = (0.3, 0.9)
    noise_prob: float = 0.3
    noise_std: float = 0.08

    def to_dict(self) -> dict:
        """Plain JSON-able form, recorded in the corpus manifest."""
        return asdict(self)


def _dilate(x: torch.Tensor) -> torch.Tensor:
    """3×3 grey dilation by shifted maxima (several times faster than max_pool2d on CPU)."""
    import torch
    import torch.nn.functional as F

    height, width = x.shape[-2:]
    padded = F.pad(x, (1, 1, 1, 1), value=float(x.min()) if x.numel() else 0.0)
    out = x.clone()
    for dy in range(3):
        for dx in range(3):
            if dy != 1 or dx != 1:
                torch.maximum(out, padded[..., dy : dy + height, dx : dx + width], out=out)
    return out


def _interpolation_matrix(size: int, points: int, device: torch.device) -> torch.Tensor:
    """(size, points) matrix that linearly interpolates ``points`` control values."""
    import torch

    position = torch.linspace(0, points - 1, size, device=device)
    left = position.floor().clamp(max=points - 2).long()
    frac = position - left
    matrix = torch.zeros(size, points, device=device)
    matrix[torch.arange(size), left] = 1 - frac
    matrix[torch.arange(size), left + 1] = frac
    return matrix


def _elastic_field(
    amount_px: torch.Tensor, points: int, height: int, width: int, generator: torch.Generator
) -> torch.Tensor:
    """Smooth random displacement (B,H,W,2) in normalised units, largest value amount_px."""
    import torch

    device = amount_px.device
    coarse = torch.randn(len(amount_px), 2, points, points, generator=generator, device=device)
    rows = _interpolation_matrix(height, points, device)
    cols = _interpolation_matrix(width, points, device)
    # Two small matmuls instead of an upsampling kernel: the field is separable and tiny.
    field = rows @ coarse @ cols.T
    peak = field.flatten(1).abs().amax(dim=1).clamp_min(1e-6)
    field = field * (amount_px / peak)[:, None, None, None]
    scale = torch.tensor([2 / width, 2 / height], device=device)
    return field.permute(0, 2, 3, 1) * scale


def _gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Blur each image of x (B,1,H,W) with its own sigma (B,), separably."""
    import torch
    import torch.nn.functional as F

    batch = x.shape[0]
    radius = max(1, math.ceil(3 * float(sigma.max())))
    offsets = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-(offsets[None, :] ** 2) / (2 * sigma[:, None].clamp_min(1e-3) ** 2))
    kernel = kernel / kernel.sum(dim=1, keepdim=True)
    grouped = x.transpose(0, 1)  # (1,B,H,W): one group per image
    grouped = F.conv2d(
        F.pad(grouped, (radius, radius, 0, 0), mode="replicate"),
        kernel[:, None, None, :],
        groups=batch,
    )
    grouped = F.conv2d(
        F.pad(grouped, (0, 0, radius, radius), mode="replicate"),
        kernel[:, None, :, None],
        groups=batch,
    )
    return grouped.transpose(0, 1)


def augment_batch(
    images: torch.Tensor, config: AugmentConfig, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Augment a batch of uint8 images (B,H,W); returns (uint8 images, params (B,P) float32)."""
    import torch
    import torch.nn.functional as F

    batch, height, width = images.shape
    device = images.device
    unit = height / 32.0  # pixel amounts are given for 32 px

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(batch, generator=generator, device=device)

    def chance(p: float) -> torch.Tensor:
        return torch.rand(batch, generator=generator, device=device) < p

    angle = uniform(-config.rotation_deg, config.rotation_deg)
    scale = uniform(*config.scale_range)
    shear = uniform(-config.shear_deg, config.shear_deg)
    shift_x = uniform(-config.shift_px, config.shift_px) * unit
    shift_y = uniform(-config.shift_px, config.shift_px) * unit
    elastic = uniform(0, config.elastic_px) * unit * chance(config.elastic_prob)
    stroke = uniform(-1, 1) * chance(config.stroke_prob)
    blur = uniform(*config.blur_sigma) * unit * chance(config.blur_prob)
    noise = uniform(0, config.noise_std) * chance(config.noise_prob)

    # Inverse map from output to input coordinates in normalised [-1, 1] space.
    a, s = torch.deg2rad(angle), torch.deg2rad(shear)
    cos, sin, tan = torch.cos(a), torch.sin(a), torch.tan(s)
    theta = torch.zeros(batch, 2, 3, device=device)
    theta[:, 0, 0] = cos / scale
    theta[:, 0, 1] = (-sin + cos * tan) / scale
    theta[:, 1, 0] = sin / scale
    theta[:, 1, 1] = (cos + sin * tan) / scale
    theta[:, 0, 2] = -shift_x * 2 / width
    theta[:, 1, 2] = -shift_y * 2 / height
    grid = F.affine_grid(theta, [batch, 1, height, width], align_corners=False)

    warped = elastic > 0
    if bool(warped.any()):
        grid[warped] = grid[warped] + _elastic_field(
            elastic[warped], config.elastic_grid, height, width, generator
        )

    if config.wrap:
        grid = torch.remainder(grid + 1, 2) - 1

    x = images.to(torch.float32).unsqueeze(1) / 255.0
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    # The pixel-wise steps below run only on the part of the batch they were drawn for.
    thick = stroke != 0
    if bool(thick.any()):
        part = x[thick]
        amount = stroke[thick][:, None, None, None]
        # Dilation moves ink out by up to a pixel; erosion is softened by half, since a
        # full pixel erases the thin strokes of light faces at 32 px.
        target = torch.where(amount > 0, _dilate(part), _dilate(part.neg()).neg())
        weight = torch.where(amount > 0, amount, amount.abs() * 0.5)
        x[thick] = part + weight * (target - part)
    blurred = blur > 0
    if bool(blurred.any()):
        x[blurred] = _gaussian_blur(x[blurred], blur[blurred])
    noisy = noise > 0
    if bool(noisy.any()):
        part = x[noisy]
        x[noisy] = part + noise[noisy][:, None, None, None] * torch.randn(
            part.shape, generator=generator, device=device
        )

    out = (x.clamp(0, 1) * 255 + 0.5).to(torch.uint8).squeeze(1)
    params = torch.stack(
        [angle, scale, shear, shift_x, shift_y, elastic, stroke, blur, noise], dim=1
    )
    return out, params


def augment_copies(
    images: np.ndarray,
    copies: int,
    config: AugmentConfig | None = None,
    seed: int = 0,
    batch_size: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """``copies`` augmented versions of every image: (K,N,H,W) uint8 and (K,N,P) float32."""
    import torch

    config = config or AugmentConfig()
    n, height, width = images.shape
    out = np.empty((copies, n, height, width), dtype=np.uint8)
    params = np.empty((copies, n, len(PARAM_NAMES)), dtype=np.float32)
    generator = torch.Generator().manual_seed(int(seed))
    source = torch.from_numpy(np.ascontiguousarray(images))
    with torch.no_grad():
        for k in range(copies):
            for start in range(0, n, batch_size):
                stop = min(n, start + batch_size)
                batch_out, batch_params = augment_batch(source[start:stop], config, generator)
                out[k, start:stop] = batch_out.numpy()
                params[k, start:stop] = batch_params.numpy()
    return out, params
