"""The shared learning-rate schedule (glyph classifier and CRNN)."""

from __future__ import annotations

import pytest
import torch

from hangulgan.train.schedule import cosine_rate, set_rate


def test_cosine_rate_falls_from_lr_to_zero_and_stays():
    assert cosine_rate(1e-3, 0, 500) == 1e-3  # no decay
    assert cosine_rate(1e-3, 100, 0) == 1e-3
    assert cosine_rate(1e-3, 100, 50) == pytest.approx(5e-4)
    assert cosine_rate(1e-3, 100, 25) == pytest.approx(1e-3 * (0.5 + 0.5 * 2**-0.5))
    assert cosine_rate(1e-3, 100, 100) == pytest.approx(0, abs=1e-15)
    assert cosine_rate(1e-3, 100, 1000) == cosine_rate(1e-3, 100, 100)


def test_set_rate_reaches_every_group():
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    set_rate(optimizer, 0.02)
    assert [group["lr"] for group in optimizer.param_groups] == [0.02, 0.02]
