"""Exponential moving averages of a model's networks (``--ema``)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Exponential moving averages of some networks' weights (buffers are copied)."""

    def __init__(self, networks: dict[str, nn.Module], names: tuple[str, ...], decay: float):
        self.decay = decay
        self.sources = {name: networks[name] for name in names}
        self.copies = {
            name: copy.deepcopy(net).requires_grad_(False).eval()
            for name, net in self.sources.items()
        }
        self._params = [
            (list(self.copies[n].parameters()), list(self.sources[n].parameters())) for n in names
        ]
        self._buffers = [
            (list(self.copies[n].buffers()), list(self.sources[n].buffers())) for n in names
        ]

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Move the averages toward the live weights (decay warms up over early steps)."""
        decay = min(self.decay, (1.0 + step) / (10.0 + step))
        for averaged, live in self._params:
            torch._foreach_lerp_(averaged, live, 1.0 - decay)
        for averaged, live in self._buffers:
            for a, b in zip(averaged, live, strict=True):
                a.copy_(b)
