"""Learning-rate schedules: functions of the step alone, so a resumed run matches one that
never stopped."""

from __future__ import annotations

import math

import torch


def cosine_rate(lr: float, decay_steps: int, step: int) -> float:
    """``lr`` decayed along half a cosine to 0 at ``decay_steps`` and held there (0: none)."""
    if not decay_steps:
        return lr
    progress = min(step / decay_steps, 1.0)
    return lr * 0.5 * (1 + math.cos(math.pi * progress))


def set_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Give every parameter group of ``optimizer`` the rate ``lr``."""
    for group in optimizer.param_groups:
        group["lr"] = lr
