"""The seeds' DCGAN: exact layer sizes, the one-pass step's gradients, options, sampling."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from hangulgan import hangul
from hangulgan.errors import ConfigError
from hangulgan.models.dcgan import DCGAN
from hangulgan.models.dcgan_config import DCGANConfig
from hangulgan.models.layers import FastDropout, count_parameters
from hangulgan.train.contract import DataInfo
from hangulgan.train.registry import MODELS, get_model_class

SMALL = DataInfo(height=16, width=16)


def test_parameter_counts_match_the_seeds_network():
    model = DCGAN(DCGANConfig(), DataInfo(height=32, width=32))
    assert count_parameters(model.G) == 9_125_825
    assert count_parameters(model.D) == 2_304_257
    assert model.describe() == {"G": 9_125_825, "D": 2_304_257}


def test_spectral_norm_keeps_the_parameter_count():
    model = DCGAN(DCGANConfig(spectral_norm=True), DataInfo())
    assert count_parameters(model.D) == 2_304_257


def test_shapes_and_value_range():
    model = DCGAN(DCGANConfig(), DataInfo())
    z = torch.randn(5, 100)
    images = model.G(z)
    assert images.shape == (5, 1, 32, 32)
    assert images.min() >= -1 and images.max() <= 1
    assert model.D(images).shape == (5,)


def test_registry_knows_dcgan():
    assert MODELS["dcgan"] is DCGAN
    assert get_model_class("dcgan") is DCGAN


def _reference_grads(model: DCGAN, real: torch.Tensor, z: torch.Tensor, loss: str):
    """Gradients of the textbook formulation: D loss → D, G loss → G, from one D pass."""
    G, D = model.G, model.D
    fake = G(z)
    logits = D(torch.cat([real, fake]))
    l_real, l_fake = logits[: len(real)], logits[len(real) :]
    if loss == "bce":
        d_loss = F.softplus(-l_real).mean() + F.softplus(l_fake).mean()
        g_loss = F.softplus(-l_fake).mean()
    else:
        d_loss = F.relu(1 - l_real).mean() + F.relu(1 + l_fake).mean()
        g_loss = -l_fake.mean()
    d_grads = torch.autograd.grad(d_loss, list(D.parameters()), retain_graph=True)
    g_grads = torch.autograd.grad(g_loss, list(G.parameters()))
    return d_grads, g_grads


@pytest.mark.parametrize("loss", ["bce", "hinge"])
def test_one_pass_step_gives_the_textbook_gradients(loss):
    torch.manual_seed(0)
    model = DCGAN(DCGANConfig(loss=loss, dropout=0.0), SMALL)
    reference = copy.deepcopy(model)
    real = torch.rand(6, 1, 16, 16) * 2 - 1
    torch.manual_seed(1)
    z = torch.randn(6, 100)
    d_ref, g_ref = _reference_grads(reference, real, z, loss)
    # capture the gradients the model's own step computes, just before its optimizers step
    captured = {}
    for name in ("G", "D"):
        optimizer = model.optimizers[name]
        original = optimizer.step

        def step(*args, _name=name, _orig=original, **kwargs):
            captured[_name] = [p.grad.clone() for p in model.networks[_name].parameters()]
            return _orig(*args, **kwargs)

        optimizer.step = step
    torch.manual_seed(1)  # the step draws the same z
    model.training_step({"image": real}, 0)
    for ours, ref in zip(captured["D"], d_ref, strict=True):
        torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-6)
    for ours, ref in zip(captured["G"], g_ref, strict=True):
        torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-6)


def test_training_step_reports_losses_and_changes_both_networks():
    torch.manual_seed(0)
    model = DCGAN(DCGANConfig(), SMALL)
    before = {n: copy.deepcopy(net.state_dict()) for n, net in model.networks.items()}
    losses = model.training_step({"image": torch.rand(4, 1, 16, 16) * 2 - 1}, 0)
    assert set(losses) == {"d_loss", "g_loss", "p_real", "p_fake"}
    assert all(torch.isfinite(v) and v.dim() == 0 for v in losses.values())
    for name, net in model.networks.items():
        changed = [
            not torch.equal(before[name][key], value)
            for key, value in net.state_dict().items()
            if "weight" in key
        ]
        assert any(changed), name


def test_conditional_model_draws_the_asked_syllables():
    torch.manual_seed(0)
    model = DCGAN(DCGANConfig(conditional=True, standing_samples=256), SMALL)
    batch = {
        "image": torch.rand(4, 1, 16, 16) * 2 - 1,
        "jamo": torch.from_numpy(hangul.jamo_table([0xAC00, 0xB098, 0xB2E4, 0xD558])),
    }
    losses = model.training_step(batch, 0)
    assert {"aux_real", "aux_fake"} <= set(losses)  # D's jamo classifier guides G
    generator = torch.Generator().manual_seed(0)
    inputs = model.sample_inputs(3, generator, syllables=[ord("가"), ord("나"), ord("다")])
    assert inputs["jamo"].tolist() == [list(hangul.decompose(c)) for c in "가나다"]
    images = model.generate(inputs)
    assert images.shape == (3, 1, 16, 16)
    # the syllable changes the image; the same noise and syllable gives the same image
    shared = model.sample_inputs(2, generator, syllables=[ord("가"), ord("하")], shared_noise=True)
    a, b = model.generate(shared)
    assert not torch.equal(a, b)
    again = model.generate(shared)
    torch.testing.assert_close(again[0], a)


def test_bad_options_raise_config_errors():
    with pytest.raises(ConfigError):
        DCGAN(DCGANConfig(loss="wasserstein"), SMALL)
    with pytest.raises(ConfigError):
        DCGAN(DCGANConfig(latent_dim=0), SMALL)
    with pytest.raises(ConfigError):
        DCGAN(DCGANConfig(), DataInfo(height=30, width=30))


def test_fast_dropout_rate_scale_and_repeatability():
    drop = FastDropout(0.3)
    x = torch.ones(200_000)
    torch.manual_seed(3)
    y = drop(x)
    dropped = (y == 0).float().mean().item()
    assert abs(dropped - 0.3) < 0.005
    assert torch.allclose(y[y != 0], torch.tensor(1 / 0.7))
    torch.manual_seed(3)
    assert torch.equal(drop(x), y)
    x.requires_grad_(True)
    torch.manual_seed(3)
    drop(x).sum().backward()
    assert torch.equal(x.grad, y)
    drop.eval()
    assert drop(x) is x


def test_hinge_and_spectral_norm_train():
    torch.manual_seed(0)
    model = DCGAN(DCGANConfig(loss="hinge", spectral_norm=True, conditional=True), SMALL)
    batch = {
        "image": torch.rand(4, 1, 16, 16) * 2 - 1,
        "jamo": torch.zeros(4, 3, dtype=torch.long),
    }
    losses = model.training_step(batch, 0)
    assert all(torch.isfinite(v) for v in losses.values())


def test_sampling_measures_batch_norm_statistics_on_a_copy():
    torch.manual_seed(0)
    model = DCGAN(DCGANConfig(standing_samples=512), SMALL)
    before = {k: v.clone() for k, v in model.G.state_dict().items()}
    standing = model.standing_generator()
    after = model.G.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # the trained G is untouched
    norm = standing.fc[1]
    assert not norm.training and int(norm.num_batches_tracked) == 1
    # its statistics are those of G's own activations on the calibration noise (seed 0)
    z = torch.randn(512, 100, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        h = model.G.fc[0](z)
    torch.testing.assert_close(norm.running_mean, h.mean(0), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(norm.running_var, h.var(0), atol=1e-5, rtol=1e-4)
    # one image does not depend on the others drawn with it
    inputs = model.grid_inputs(6, torch.Generator().manual_seed(1))
    alone = model.generate({"z": inputs["z"][:1]})
    torch.testing.assert_close(model.generate(inputs)[:1], alone)


def _step_grads(model: DCGAN, real: torch.Tensor, autocast: bool) -> list[torch.Tensor]:
    """G's gradients as the model's own step computes them (captured before G steps)."""
    captured = {}
    optimizer = model.optimizers["G"]
    original = optimizer.step

    def step(*args, **kwargs):
        captured["G"] = [p.grad.clone() for p in model.G.parameters()]
        return original(*args, **kwargs)

    optimizer.step = step
    torch.manual_seed(1)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        model.training_step({"image": real}, 0)
    return captured["G"]


@pytest.mark.parametrize("autocast", [False, True])
@pytest.mark.parametrize("bias", [0.0, -45.0, -85.0, -120.0, 60.0])
def test_one_pass_step_keeps_g_gradients_with_saturated_logits(bias, autocast):
    """The shared backward rescales D's gradient σ(l) by −exp(−l); where D rejects the fakes
    so surely that σ(l) underflows (l ≲ −87), G must still get its textbook gradient,
    in float32 and under bf16 autocast."""
    torch.manual_seed(0)
    model = DCGAN(DCGANConfig(dropout=0.0), SMALL)
    with torch.no_grad():
        model.D.out.bias.fill_(bias)  # every logit near ``bias``
    reference = copy.deepcopy(model)
    real = torch.rand(6, 1, 16, 16) * 2 - 1
    torch.manual_seed(1)
    z = torch.randn(6, 100)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        fake = reference.G(z)
        l_fake = reference.D(torch.cat([real, fake])).float()[6:]
    expected = torch.autograd.grad(F.softplus(-l_fake).mean(), list(reference.G.parameters()))
    ours = _step_grads(model, real, autocast)
    tolerance = 0.05 if autocast else 1e-4  # bf16 rounds the two graphs differently
    for got, want in zip(ours, expected, strict=True):
        assert torch.isfinite(got).all()
        assert (got - want).norm() <= tolerance * want.norm() + 1e-12
    if bias < 0:
        assert all(g.norm() > 0 for g in ours[:1])  # G learns when D wins, too


def test_fast_dropout_under_bf16_autocast():
    drop = FastDropout(0.3)
    linear = torch.nn.Linear(64, 4096)
    x = torch.randn(8, 64)
    torch.manual_seed(5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        h = linear(x)
        y = drop(h)
    assert h.dtype == y.dtype == torch.bfloat16
    kept = y != 0
    assert abs(1 - kept.float().mean().item() - 0.3) < 0.01
    # kept values are the input scaled by 1/(1 − p) in bf16, as nn.Dropout scales them
    scale = torch.tensor(1 / 0.7, dtype=torch.bfloat16)
    assert torch.equal(y[kept], h[kept] * scale)
    grad = torch.autograd.grad(y.float().sum(), h)[0]
    assert grad.dtype == torch.bfloat16
    assert torch.equal(grad != 0, kept) and torch.all(grad[kept] == scale)
