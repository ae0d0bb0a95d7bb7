"""CycleGAN and U-GAT-IT on the shared trainer: unaligned data, exact resume (image pools
and both optimizers included), ρ kept in [0, 1], attention heatmaps, sampling, and glyph
translation between two Debian faces of a corpus rendered here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hangulgan import hangul
from hangulgan.data.corpus_manifest import RenderSettings
from hangulgan.data.corpus_render import render_corpus
from hangulgan.errors import ConfigError
from hangulgan.train import checkpoint as ckpt
from hangulgan.train.contract import DataInfo
from hangulgan.translate.config import CycleGANConfig, UGATITConfig
from hangulgan.translate.unpaired import UGATIT, CycleGAN, ImagePool, UGATITGenerator

from conftest import NANUM, debian_font, run_cli

FAST = ("--batch", "2", "--no-progress", "--log-every", "1", "--sample-every", "0",
        "--grid", "2", "--amp", "off", "--width", "4", "--d-width", "4",
        "--blocks", "1")  # fmt: skip
MODEL_OPTIONS = {
    "cyclegan": ("--pool-size", "3", "--d-layers", "2"),
    "ugatit": ("--global-layers", "5", "--local-layers", "4"),
}


def tensors(run: Path) -> dict[str, torch.Tensor]:
    checkpoint = ckpt.read_checkpoint(ckpt.latest_checkpoint(run))
    return {k: v for k, v in checkpoint.tensors.items() if not k.startswith("rng.")}


@pytest.fixture(scope="module")
def domains(tmp_path_factory) -> Path:
    """trainA: 5 reddish 32×32 images; trainB: 4 bluish ones."""
    root = tmp_path_factory.mktemp("domains")
    rng = np.random.default_rng(1)
    for name, count, channel in (("trainA", 5, 0), ("trainB", 4, 2)):
        (root / name).mkdir()
        for i in range(count):
            pixels = rng.integers(0, 120, (32, 32, 3), dtype=np.uint8)
            pixels[:, :, channel] += 120
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root


@pytest.mark.parametrize("model", ["cyclegan", "ugatit"])
def test_unpaired_model_resumes_exactly_and_samples(model, domains, tmp_path):
    base = ("translate", "train", model, "--data", domains, "--size", "32", *FAST,
            *MODEL_OPTIONS[model], "--lr-decay-steps", "4")  # fmt: skip
    code, out = run_cli(*base, "--run", tmp_path / "straight", "--steps", "5")
    assert code == 0, out
    code, out = run_cli(*base, "--run", tmp_path / "cut", "--steps", "2", "--workers", "1")
    assert code == 0, out
    code, out = run_cli(
        "translate", "train", model, "--run", tmp_path / "cut", "--resume", "--steps", "5",
        "--no-progress",
    )  # fmt: skip
    assert code == 0 and "trained steps 2→5" in out, out
    straight, cut = tensors(tmp_path / "straight"), tensors(tmp_path / "cut")
    assert set(straight) == set(cut) and any(k.startswith("opt.D.") for k in straight)
    for key, value in straight.items():
        assert torch.equal(value, cut[key]), key
    if model == "cyclegan":  # the history pools are in the checkpoint, full after 5 steps
        state = ckpt.read_checkpoint(ckpt.latest_checkpoint(tmp_path / "cut")).state
        assert state["model_state"]["pool_a_count"] == 3
        assert straight["model.pool_b"].shape == (3, 3, 32, 32)
    else:  # every ρ clipped to [0, 1]
        rhos = [v for k, v in straight.items() if k.endswith(".rho") and k.startswith("net.G")]
        assert rhos and all(float(r.min()) >= 0 and float(r.max()) <= 1 for r in rhos)
    code, out = run_cli("sample", tmp_path / "cut", "--n", "2", "--out", tmp_path / "g.png")
    assert code == 0, out
    assert Image.open(tmp_path / "g.png").size[0] > 32


def test_ugatit_clips_rho_after_a_generator_step_that_pushes_it_out():
    info = DataInfo(height=32, width=32, channels=1)
    model = UGATIT(
        UGATITConfig(width=4, blocks=1, d_width=4, global_layers=5, local_layers=4, lr=0.5), info
    )
    model.to("cpu")
    batch = {"a": torch.rand(2, 1, 32, 32) * 2 - 1, "b": torch.rand(2, 1, 32, 32) * 2 - 1}
    for step in range(3):
        model.training_step(batch, step)
    rhos = torch.cat(
        [
            m.rho.detach().flatten()
            for n in ("G_ab", "G_ba")
            for m in model.networks[n].modules()
            if hasattr(m, "rho")
        ]
    )
    assert float(rhos.min()) >= 0.0 and float(rhos.max()) <= 1.0
    assert ((rhos == 0) | (rhos == 1)).any()  # a step of 0.5 left some at a bound


def test_ugatit_light_and_full_generators_return_cam_logits_and_heatmaps():
    x = torch.zeros(2, 3, 32, 32)
    for light in (True, False):
        G = UGATITGenerator(3, 3, width=4, blocks=2, size=32, light=light)
        image, cam, heat = G(x)
        assert image.shape == x.shape and cam.shape == (2, 2) and heat.shape == (2, 1, 8, 8)
    light = UGATITGenerator(3, 3, 4, 2, 32, True)
    full = UGATITGenerator(3, 3, 4, 2, 32, False)
    assert sum(p.numel() for p in full.parameters()) > sum(p.numel() for p in light.parameters())
    model = UGATIT(
        UGATITConfig(width=4, blocks=1, d_width=4, global_layers=5, local_layers=4),
        DataInfo(32, 32, 3),
    )
    heat = model.heatmaps(torch.rand(2, 3, 32, 32))
    assert heat.shape == (2, 1, 32, 32) and float(heat.min()) == -1.0 and float(heat.max()) == 1.0


def test_ugatit_discriminators_too_deep_for_the_size_say_what_fits():
    with pytest.raises(
        ConfigError,
        match=r"--global-layers 7 shrinks 32×32 images to 1 pixels; at this size use at most 5",
    ):
        UGATIT(UGATITConfig(width=4), DataInfo(32, 32, 3))


def test_image_pool_returns_old_fakes_once_full():
    torch.manual_seed(0)
    pool = ImagePool(2, (1, 2, 2))
    first = pool.query(torch.ones(2, 1, 2, 2))
    assert torch.equal(first, torch.ones(2, 1, 2, 2)) and pool.count == 2
    out = pool.query(torch.full((20, 1, 2, 2), 2.0))
    assert (out == 1).any() and (out == 2).any()  # some swapped for the history
    assert torch.equal(
        ImagePool(0, (1, 2, 2)).query(torch.ones(1, 1, 2, 2)), torch.ones(1, 1, 2, 2)
    )


def test_cyclegan_needs_sides_divisible_by_four(domains):
    from hangulgan.translate.config import TranslateDataConfig

    with pytest.raises(ConfigError, match="size 30 does not divide by 4"):
        CycleGAN.make_dataset(TranslateDataConfig(data=str(domains), size=30), CycleGANConfig())


CHARSET = hangul.ksx1001_syllables()[:24]


@pytest.fixture(scope="module")
def glyph_corpus(tmp_path_factory) -> Path:
    fonts = [debian_font(NANUM / f"{name}.ttf") for name in ("NanumGothic", "NanumMyeongjo")]
    out = tmp_path_factory.mktemp("glyphs") / "corpus"
    render_corpus(fonts, out, RenderSettings(charset_name="t", charset=CHARSET), progress=False)
    return out


@pytest.mark.parametrize(
    "model, options",
    [
        ("pix2pix", ("--d-width", "4")),
        ("autoencoder", ()),
        ("ugatit", ("--unpaired", *MODEL_OPTIONS["ugatit"], "--d-width", "4", "--blocks", "1")),
        ("cyclegan", ("--unpaired", *MODEL_OPTIONS["cyclegan"], "--d-width", "4", "--blocks", "1")),
    ],
)
def test_every_model_translates_corpus_glyphs_between_two_faces(
    model, options, glyph_corpus, tmp_path
):
    code, out = run_cli(
        "translate", "train", model, "--corpus", glyph_corpus, "--source-face", "NanumGothic",
        "--target-face", "NanumMyeongjo", "--size", "32", "--run", tmp_path / "run",
        "--steps", "2", "--batch", "2", "--no-progress", "--sample-every", "0", "--grid", "2",
        "--amp", "off", "--width", "4", *options,
    )  # fmt: skip
    assert code == 0, out
    sheet = Image.open(next((tmp_path / "run" / "samples").glob("*.png")))
    assert sheet.mode in ("L", "RGB")
    # scored on the held-out syllables (every 10th of the 24: two), whichever the model
    code, out = run_cli("translate", "evaluate", tmp_path / "run", "--html", tmp_path / "p.html")
    assert code == 0, out
    row = out.splitlines()[1].split()
    assert row[0] == model and row[1] == "2" and -1 <= float(row[4]) <= 1, out
    # glyphs are also read by the content classifier: accuracy and Glyph-FID
    assert 0 <= float(row[5]) <= 1 and float(row[6]) >= 0, out
    assert "U+" in (tmp_path / "p.html").read_text()
