"""Networks of the translation models: pix2pix's U-Net generator and PatchGAN discriminator.

Written after the descriptions in Isola et al. (pix2pix) and the layer recipes of the
reference code (junyanz/pytorch-CycleGAN-and-pix2pix): 4×4 convolutions of stride 2, the
first down-sampling without norm, the innermost without norm, dropout 0.5 in the
up-samplings of the deep 8×width blocks, bias only under instance norm.
"""

from __future__ import annotations

import torch
from torch import nn

from hangulgan.translate.config import NORMS


def norm_layer(kind: str, channels: int) -> nn.Module:
    """Batch norm (learned affine, running stats) or instance norm (neither), as pix2pix."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    raise ValueError(f"unknown norm {kind!r} (known: {', '.join(NORMS)})")


class UNetGenerator(nn.Module):
    """U-Net of ``depth`` down-samplings (each halves the side) with skip connections.

    Widths double from ``width`` up to 8×``width``; an input of side S needs S divisible
    by 2**depth (S = 2**depth reaches a 1×1 bottleneck, as pix2pix at 256 with depth 8).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        width: int = 64,
        depth: int = 8,
        norm: str = "batch",
        dropout: bool = True,
    ) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError(f"a U-Net needs a depth of 2 or more, not {depth}")
        bias = norm == "instance"  # batch norm's shift makes a conv bias redundant
        widths = [width * min(2**i, 8) for i in range(depth)]
        self.downs = nn.ModuleList()
        for i in range(depth):
            layers: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2, True)]
            layers.append(
                nn.Conv2d(in_channels if i == 0 else widths[i - 1], widths[i], 4, 2, 1, bias=bias)
            )
            if 0 < i < depth - 1:
                layers.append(norm_layer(norm, widths[i]))
            self.downs.append(nn.Sequential(*layers))
        self.ups = nn.ModuleList()
        for i in range(depth):
            inner = widths[i] if i == depth - 1 else 2 * widths[i]
            out = out_channels if i == 0 else widths[i - 1]
            layers = [nn.ReLU(True), nn.ConvTranspose2d(inner, out, 4, 2, 1, bias=bias or i == 0)]
            if i == 0:
                layers.append(nn.Tanh())
            else:
                layers.append(norm_layer(norm, out))
                # the reference's dropout blocks: the 8×width levels between the innermost
                # and the four outer ones
                if dropout and 4 <= i < depth - 1:
                    layers.append(nn.Dropout(0.5))
            self.ups.append(nn.Sequential(*layers))

    def forward(self, x):
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        x = self.ups[-1](skips[-1])
        for i in range(len(self.ups) - 2, -1, -1):
            x = self.ups[i](torch.cat([skips[i], x], 1))
        return x


class PatchDiscriminator(nn.Module):
    """PatchGAN: a logit per overlapping patch (70×70 receptive field with 3 layers)."""

    def __init__(
        self, in_channels: int, width: int = 64, n_layers: int = 3, norm: str = "batch"
    ) -> None:
        super().__init__()
        bias = norm == "instance"
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, width, 4, 2, 1),
            nn.LeakyReLU(0.2, True),
        ]
        channels = width
        for n in range(1, n_layers + 1):
            out = width * min(2**n, 8)
            stride = 2 if n < n_layers else 1  # the last one keeps the size (70×70 field)
            layers += [
                nn.Conv2d(channels, out, 4, stride, 1, bias=bias),
                norm_layer(norm, out),
                nn.LeakyReLU(0.2, True),
            ]
            channels = out
        layers.append(nn.Conv2d(channels, 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)
