"""Sizes that cannot fit in memory: refused before anything is allocated, and an allocation
that fails anyway is a one-line error naming the sizes (exit 2), never exit 70 (issue 19)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from test_train_trainer import quick, small_model, tiny_dataset, train_dcgan

from hangulgan.cli import main
from hangulgan.errors import ConfigError
from hangulgan.models.dcgan import DCGAN
from hangulgan.models.dcgan_config import DCGANConfig
from hangulgan.train.trainer import new_model

CPU_FAILURE = (
    "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough memory: "
    "you tried to allocate 400000000000 bytes."
)


def test_an_allocation_failure_in_a_step_names_the_sizes(tmp_path, monkeypatch):
    def step(self, batch, step):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(DCGAN, "training_step", step)
    with pytest.raises(ConfigError) as caught:
        train_dcgan(small_model(), quick(steps=2), tiny_dataset(), tmp_path / "r")
    assert str(caught.value).startswith("out of memory training dcgan at 16×16, batch 8 (")
    assert "latent_dim 100" in str(caught.value) and "jamo_dim 16" in str(caught.value)


def test_an_allocation_failure_building_the_model_names_the_sizes(monkeypatch):
    def build(self, config, info):
        raise RuntimeError(CPU_FAILURE)

    monkeypatch.setattr(DCGAN, "__init__", build)
    with pytest.raises(ConfigError, match=r"^out of memory building dcgan for 16×16 images \("):
        new_model("dcgan", small_model(latent_dim=60000), tiny_dataset(), quick())


def test_other_runtime_errors_are_not_taken_for_memory(tmp_path, monkeypatch):
    def step(self, batch, step):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    monkeypatch.setattr(DCGAN, "training_step", step)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        train_dcgan(small_model(), quick(steps=2), tiny_dataset(), tmp_path / "r")


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"latent_dim": 10**7}, "--latent 10000000: must lie in 1..65,536"),
        ({"jamo_dim": 10**7}, "--jamo-dim 10000000: must lie in 1..65,536"),
        ({"standing_samples": 10**9}, "--standing-samples 1000000000: must lie in 0.."),
        ({"lr": float("inf")}, "learning rate inf: must be positive"),
    ],
)
def test_dcgan_sizes_have_upper_bounds(values, words):
    with pytest.raises(ConfigError, match=re.escape(words)):
        DCGANConfig(**values).validate()


def cli(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("table", "key", "words"),
    [
        ("train", "batch", "--batch 10000000: must lie in 1..65,536"),
        ("train", "grid", "--grid 10000000: must lie in 1..4,096"),
        ("model_config", "latent_dim", "--latent 10000000: must lie in 1..65,536"),
    ],
)
def test_a_run_config_of_a_size_that_cannot_fit_is_refused_by_name(tmp_path, table, key, words):
    run = tmp_path / "r"
    train_dcgan(small_model(), quick(steps=1), tiny_dataset(), run)
    path = run / "config.json"
    config = json.loads(path.read_text())
    config[table][key] = 10**7
    path.write_text(json.dumps(config))
    code, out = cli("train", "dcgan", "--run", run, "--resume", "--steps", "2")
    assert code == 2, out
    assert out.startswith("error: ") and words in out


@pytest.mark.parametrize(
    ("model", "values", "words"),
    [
        ("pix2pix", {"width": 10**7}, "--width 10000000: must lie in 1..1,024"),
        ("pix2pix", {"d_layers": 99}, "--d-layers 99: must lie in 1..16"),
        ("cyclegan", {"pool_size": 10**7}, "--pool-size 10000000: must lie in 0..4,096"),
        ("ugatit", {"blocks": 10**7}, "--blocks 10000000: must lie in 1..64"),
        ("autoencoder", {"lr": float("nan")}, "--lr must be positive, not nan"),
    ],
)
def test_translation_sizes_have_upper_bounds(model, values, words):
    from hangulgan.train.registry import model_entry

    config = model_entry(model).config_class(**values)
    with pytest.raises(ConfigError, match=re.escape(words)):
        config.validate()


def test_translation_image_sides_have_upper_bounds(tmp_path: Path):
    from hangulgan.translate.config import TranslateDataConfig
    from hangulgan.translate.data import TranslationData

    for values, words in (
        ({"size": 10**7}, "--size 10000000: must lie in 1..4,096"),
        ({"load_size": 10**7}, "--load-size 10000000: must lie in 0..8,192"),
        ({"workers": 10**7}, "--workers 10000000: must lie in 0..256"),
    ):
        with pytest.raises(ConfigError, match=re.escape(words)):
            TranslationData(TranslateDataConfig(data=str(tmp_path), **values))
