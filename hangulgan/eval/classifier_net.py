"""The glyph classifiers' network: a small CNN with one head per output, and its inference
form (batch norm folded into the layers before it).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from hangulgan import hangul

JAMO_HEADS = (
    ("initial", hangul.N_INITIALS),
    ("medial", hangul.N_MEDIALS),
    ("final", hangul.N_FINALS),
)
FEATURE_DIM = 256


class GlyphClassifierNet(nn.Module):
    """A small CNN for H×W glyphs: four conv stages, a 256-d feature, one head per output."""

    def __init__(self, heads: dict[str, int], width: int = 16, size: tuple[int, int] = (32, 32)):
        super().__init__()

        def block(cin: int, cout: int, stride: int) -> list[nn.Module]:
            return [
                nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
            ]

        w = width
        # Stride-2 stages keep the cost near 2.4 M multiply-adds per 32×32 glyph at width
        # 16 (reading 11,172 glyphs takes seconds on a CPU core; width 32 costs 9 M). The
        # 2×2 pooling at the end keeps where strokes sit, since a jamo's position (left,
        # top, bottom) is part of what it is.
        self.body = nn.Sequential(
            *block(1, w, 1),
            *block(w, 3 * w // 2, 2),
            *block(3 * w // 2, 3 * w, 2),
            *block(3 * w, 6 * w, 2),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Linear(24 * w, FEATURE_DIM),
            nn.BatchNorm1d(FEATURE_DIM),
            nn.ReLU(inplace=True),
        )
        self.heads = nn.ModuleDict({name: nn.Linear(FEATURE_DIM, n) for name, n in heads.items()})
        self.size = tuple(size)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Penultimate features (N×256) of N×1×H×W images in [-1, 1] (Glyph-FID uses these)."""
        return self.body(images)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits per head."""
        feats = self.features(images)
        return {name: head(feats) for name, head in self.heads.items()}


def head_sizes(task: str, face_names: list[str] | tuple[str, ...]) -> dict[str, int]:
    """The output heads of a classifier of ``task``."""
    if task == "content":
        return dict(JAMO_HEADS)
    return {"face": len(face_names)}


def fuse_for_inference(body: nn.Sequential) -> nn.Sequential:
    """A copy of ``body`` in eval mode with each batch norm folded into the convolution or
    linear layer before it (same outputs up to rounding), in channels-last layout."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

    layers = [copy.deepcopy(layer).eval() for layer in body]
    fused: list[nn.Module] = []
    for layer in layers:
        previous = fused[-1] if fused else None
        if isinstance(layer, nn.BatchNorm2d) and isinstance(previous, nn.Conv2d):
            fused[-1] = fuse_conv_bn_eval(previous, layer)
        elif isinstance(layer, nn.BatchNorm1d) and isinstance(previous, nn.Linear):
            fused[-1] = fuse_linear_bn_eval(previous, layer)
        else:
            fused.append(layer)
    return nn.Sequential(*fused).eval().to(memory_format=torch.channels_last)


def images_to_input(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 N×H×W glyphs (255 = ink) as the network's N×1×H×W float input in [-1, 1]."""
    if not torch.is_tensor(images):
        array = np.asarray(images)
        # Memory-mapped glyph sets are read-only; torch wants a writable array.
        images = torch.from_numpy(array if array.flags.writeable else array.copy())
    tensor = images
    if tensor.ndim == 3:
        tensor = tensor[:, None]
    if tensor.dtype == torch.uint8:
        return tensor.float().div_(127.5).sub_(1.0)
    return tensor.float()
