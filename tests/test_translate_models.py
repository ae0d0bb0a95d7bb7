"""pix2pix and the U-Net autoencoder on the shared trainer: `hangulgan translate train`
generated from their configs, training on CPU, exact resume, sampling, the LR schedule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hangulgan.train import checkpoint as ckpt
from hangulgan.train.contract import DataInfo
from hangulgan.translate.config import AutoencoderConfig, Pix2PixConfig
from hangulgan.translate.models import Autoencoder, Pix2Pix, linear_decay
from hangulgan.translate.networks import PatchDiscriminator, UNetGenerator

from conftest import run_cli

FAST = ("--batch", "2", "--no-progress", "--log-every", "1", "--sample-every", "0",
        "--grid", "2", "--amp", "off", "--size", "32", "--width", "4")  # fmt: skip
SMALL_D = ("--d-width", "4")


def tensors(run: Path) -> dict[str, torch.Tensor]:
    checkpoint = ckpt.read_checkpoint(ckpt.latest_checkpoint(run))
    return {k: v for k, v in checkpoint.tensors.items() if not k.startswith("rng.")}


@pytest.fixture(scope="module")
def pairs(tmp_path_factory) -> Path:
    """Six random 40×40 colour images (A) and their inverses (B)."""
    root = tmp_path_factory.mktemp("pairs")
    rng = np.random.default_rng(0)
    for side in "AB":
        (root / side).mkdir()
    for i in range(6):
        pixels = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / "A" / f"{i}.png")
        Image.fromarray(255 - pixels).save(root / "B" / f"{i}.png")
    return root


def test_unet_keeps_the_size_and_patchgan_sees_patches():
    G = UNetGenerator(3, 1, width=4, depth=5, norm="instance")
    assert G(torch.zeros(2, 3, 32, 32)).shape == (2, 1, 32, 32)
    assert sum(isinstance(m, torch.nn.Dropout) for m in G.modules()) == 0  # depth 5: none
    deep = UNetGenerator(1, 1, width=2, depth=8)
    assert sum(isinstance(m, torch.nn.Dropout) for m in deep.modules()) == 3  # as pix2pix
    D = PatchDiscriminator(6, width=4, n_layers=3)
    assert D(torch.zeros(1, 6, 256, 256)).shape == (1, 1, 30, 30)  # 70×70 patches at 256


def test_translate_train_lists_the_translation_models_with_generated_options():
    code, out = run_cli("translate", "train", "--help")
    assert code == 0 and "pix2pix" in out and "autoencoder" in out and "dcgan" not in out
    code, out = run_cli("train", "--help")
    assert code == 0 and "pix2pix" not in out  # listed under `translate train` only
    code, out = run_cli("translate", "train", "pix2pix", "--help")
    assert code == 0
    for option in ("--data", "--corpus", "--l1-weight", "--norm", "--lr-decay-steps", "--steps"):
        assert option in out, option
    assert "Weight of the L1 loss beside the GAN loss." in out and "[default: 100.0]" in out
    code, out = run_cli("translate", "train", "autoencoder", "--help")
    assert code == 0 and "[l1|mse]" in out and "--l1-weight" not in out


def test_linear_decay_follows_the_reference_schedule():
    assert linear_decay(0, 10, 0) == 1.0 and linear_decay(10, 10, 9) == 1.0
    assert linear_decay(15, 10, 9) == pytest.approx(0.5)
    assert linear_decay(100, 10, 9) == 0.0


@pytest.mark.parametrize("model", ["pix2pix", "autoencoder"])
def test_model_resumes_exactly_as_an_uninterrupted_run(model, pairs, tmp_path):
    extra = SMALL_D if model == "pix2pix" else ("--loss", "mse")
    base = ("translate", "train", model, "--data", pairs, *FAST, *extra, "--flip",
            "--load-size", "36", "--lr-decay-steps", "3")  # fmt: skip
    code, out = run_cli(*base, "--run", tmp_path / "straight", "--steps", "4")
    assert code == 0, out
    code, out = run_cli(*base, "--run", tmp_path / "cut", "--steps", "2", "--workers", "1")
    assert code == 0, out
    code, out = run_cli(
        "translate", "train", model, "--run", tmp_path / "cut", "--resume", "--steps", "4",
        "--no-progress",
    )  # fmt: skip
    assert code == 0 and "trained steps 2→4" in out, out
    straight, cut = tensors(tmp_path / "straight"), tensors(tmp_path / "cut")
    assert set(straight) == set(cut) and any(k.startswith("opt.G.") for k in straight)
    for key, value in straight.items():
        assert torch.equal(value, cut[key]), key
    state = ckpt.read_checkpoint(ckpt.latest_checkpoint(tmp_path / "cut")).state
    # the decayed learning rate: step 3 of constant 0 + decay 3 → 2e-4 × (1 - 3/4)
    assert state["optimizers"]["G"]["param_groups"][0]["lr"] == pytest.approx(2e-4 * 0.25)
    # a sheet input | output | target, and sampling from the run
    sheets = sorted((tmp_path / "cut" / "samples").glob("*.png"))
    assert sheets and Image.open(sheets[-1]).mode == "RGB"
    code, out = run_cli("sample", tmp_path / "cut", "--n", "2", "--out", tmp_path / "g.png")
    assert code == 0, out
    assert Image.open(tmp_path / "g.png").mode == "RGB"


def test_pix2pix_learns_a_fixed_pair_better_than_at_the_start():
    torch.manual_seed(0)
    info = DataInfo(height=32, width=32, channels=1, ink=True)
    configs = (
        (Pix2Pix, Pix2PixConfig(width=8, d_width=8, norm="instance", lr=2e-3)),
        (Autoencoder, AutoencoderConfig(width=8, norm="instance", lr=2e-3)),
    )
    for cls, config in configs:
        model = cls(config, info).to("cpu")
        a = torch.rand(2, 1, 32, 32) * 2 - 1
        batch = {"a": a, "b": -a}
        model.train(False)
        before = (model.generate(batch) + a).abs().mean()
        model.train(True)
        for step in range(25):
            model.training_step(batch, step)
        model.train(False)
        after = (model.generate(batch) + a).abs().mean()
        assert after < 0.7 * before, (cls.name, float(before), float(after))
