"""The shared trainer: exact resume, checkpoints, run folders, stop requests, EMA, logs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open

from hangulgan.data.dataset import GlyphDataset
from hangulgan.data.glyphset import GlyphSet
from hangulgan.errors import CheckpointError, ConfigError, RunError
from hangulgan.models.dcgan_config import DCGANConfig
from hangulgan.train import checkpoint as ckpt
from hangulgan.train.config import RunConfig, TrainConfig
from hangulgan.train.runs import list_runs, open_run, write_glyphset, write_grid
from hangulgan.train.sampler import EpochSampler
from hangulgan.train.trainer import new_model, train


def tiny_dataset(n: int = 24, size: int = 16) -> GlyphDataset:
    """Random blocky glyphs with consecutive syllable code points."""
    rng = np.random.default_rng(0)
    blocks = rng.random((n, size // 4, size // 4)) > 0.5
    images = np.kron(blocks, np.ones((4, 4))).astype(np.uint8) * 255
    return GlyphDataset.from_glyphsets([GlyphSet(images, list(range(0xAC00, 0xAC00 + n)))])


def small_model(**kwargs) -> DCGANConfig:
    """The DCGAN with a short batch-norm calibration before sampling (fast tests)."""
    return DCGANConfig(standing_samples=256, **kwargs)


def quick(**kwargs) -> TrainConfig:
    values = {"batch": 8, "log_every": 1, "sample_every": 0, "progress": False, "grid": 4}
    return TrainConfig(**(values | kwargs))


def train_dcgan(model: DCGANConfig, config: TrainConfig, dataset, run_dir, **kwargs):
    """Train a DCGAN built from ``model`` the way the CLI builds one (seeded, for the data)."""
    return train(new_model("dcgan", model, dataset, config), config, dataset, run_dir, **kwargs)


def rows(run: Path) -> list[dict[str, str]]:
    with open(run / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def losses(run: Path) -> list[tuple[str, ...]]:
    return [(r["step"], r["d_loss"], r["g_loss"], r["p_real"], r["p_fake"]) for r in rows(run)]


def test_resume_is_the_same_run_step_by_step(tmp_path):
    data = tiny_dataset()
    model = small_model(conditional=True)
    straight = train_dcgan(model, quick(steps=6, ema=True), data, tmp_path / "a")
    first = train_dcgan(model, quick(steps=3, ema=True), data, tmp_path / "b")
    assert first.step == 3
    second = train_dcgan(model, quick(steps=6, ema=True), data, tmp_path / "b", resume=True)
    assert (second.start_step, second.step) == (3, 6)
    assert straight.step == 6
    assert losses(tmp_path / "a") == losses(tmp_path / "b")
    assert len(losses(tmp_path / "a")) == 6
    a = ckpt.read_checkpoint(ckpt.latest_checkpoint(tmp_path / "a"))
    b = ckpt.read_checkpoint(ckpt.latest_checkpoint(tmp_path / "b"))
    for key, value in a.tensors.items():
        if key.startswith(("net.", "ema.", "opt.")):
            assert torch.equal(value, b.tensors[key]), key


def test_train_trains_the_model_it_is_given_and_hands_it_back(tmp_path):
    data, config = tiny_dataset(), quick(steps=2)
    model = new_model("dcgan", small_model(), data, config)
    twin = new_model("dcgan", small_model(), data, config)  # the same seed: the same weights
    start = {k: v.clone() for k, v in model.networks["G"].state_dict().items()}
    assert all(torch.equal(v, twin.networks["G"].state_dict()[k]) for k, v in start.items())
    result = train(model, config, data, None)
    assert result.model is model and result.step == 2
    trained = model.networks["G"].state_dict()
    assert any(not torch.equal(trained[k], start[k]) for k in start)


def test_checkpoint_holds_everything_as_safetensors(tmp_path):
    train_dcgan(
        small_model(),
        quick(steps=2, ema=True),
        tiny_dataset(),
        tmp_path / "r",
    )
    path = ckpt.latest_checkpoint(tmp_path / "r")
    assert path.name == "step-00000002.safetensors"
    with safe_open(str(path), framework="pt") as handle:
        keys = set(handle.keys())
        meta = handle.metadata()
    state = json.loads(meta["state"])
    assert state["model"] == "dcgan" and state["step"] == 2
    assert state["extra"]["sampler"] == {"epoch": 0, "position": 16, "size": 24}
    for prefix in ("net.G.", "net.D.", "ema.G.", "opt.G.0.exp_avg", "opt.D.0.exp_avg_sq"):
        assert any(k.startswith(prefix) for k in keys), prefix
    assert {"rng.torch", "rng.numpy", "rng.python"} <= keys
    assert (tmp_path / "r" / "config.json").is_file()
    saved = RunConfig.load(tmp_path / "r")
    assert saved.model == "dcgan" and saved.train.steps == 2


def test_truncated_checkpoint_is_a_clear_error(tmp_path):
    train_dcgan(small_model(), quick(steps=1), tiny_dataset(), tmp_path / "r")
    path = ckpt.latest_checkpoint(tmp_path / "r")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        ckpt.read_checkpoint(path)
    with pytest.raises(CheckpointError):
        train_dcgan(
            small_model(),
            quick(steps=2),
            tiny_dataset(),
            tmp_path / "r",
            resume=True,
        )


def test_checkpoint_of_another_shape_does_not_load(tmp_path):
    train_dcgan(small_model(), quick(steps=1), tiny_dataset(), tmp_path / "r")
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    config["model_config"]["latent_dim"] = 50
    (tmp_path / "r" / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="do not fit"):
        open_run(tmp_path / "r")


def test_run_of_another_model_is_refused(tmp_path):
    train_dcgan(small_model(), quick(steps=1), tiny_dataset(), tmp_path / "r")
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    config["model"] = "styled"
    config["data"] = {}  # a styled run keeps the styled model's data options (defaults here)
    (tmp_path / "r" / "config.json").write_text(json.dumps(config))
    with pytest.raises(RunError, match="'styled'"):
        train_dcgan(
            small_model(),
            quick(steps=2),
            tiny_dataset(),
            tmp_path / "r",
            resume=True,
        )


def test_existing_run_needs_force(tmp_path):
    run = tmp_path / "r"
    train_dcgan(small_model(), quick(steps=1), tiny_dataset(), run)
    before = ckpt.latest_checkpoint(run).read_bytes()
    with pytest.raises(RunError, match="--force"):
        train_dcgan(small_model(), quick(steps=1, seed=5), tiny_dataset(), run)
    assert ckpt.latest_checkpoint(run).read_bytes() == before
    train_dcgan(
        small_model(),
        quick(steps=2, seed=5),
        tiny_dataset(),
        run,
        force=True,
    )
    assert [step for step, _ in ckpt.list_checkpoints(run)] == [2]
    assert len(rows(run)) == 2


@pytest.mark.parametrize(
    "bad", [{"batch": 0}, {"steps": -1}, {"epochs": 0}, {"log_every": -1}, {"amp": "fp8"}]
)
def test_out_of_range_config_is_refused(tmp_path, bad):
    with pytest.raises(ConfigError):
        train_dcgan(small_model(), quick(**bad), tiny_dataset(), tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_stop_request_saves_a_checkpoint_and_resume_finishes_the_same(tmp_path):
    data = tiny_dataset()

    def stop_at_2(trainer, step, _losses):
        if step == 2:
            trainer.request_stop()

    cut = train_dcgan(
        small_model(),
        quick(steps=4),
        data,
        tmp_path / "b",
        callbacks=[stop_at_2],
    )
    assert cut.interrupted and cut.step == 2
    assert cut.checkpoint == ckpt.checkpoint_path(tmp_path / "b", 2)
    train_dcgan(
        small_model(),
        quick(steps=4),
        data,
        tmp_path / "b",
        resume=True,
    )
    train_dcgan(small_model(), quick(steps=4), data, tmp_path / "a")
    assert losses(tmp_path / "a") == losses(tmp_path / "b")


def test_metrics_grids_and_ema(tmp_path):
    run = tmp_path / "r"
    result = train_dcgan(
        small_model(),
        quick(steps=4, log_every=2, sample_every=2, ema=True, ema_decay=0.5),
        tiny_dataset(),
        run,
    )
    table = rows(run)
    assert [r["step"] for r in table] == ["2", "4"]
    assert float(table[0]["img_per_s"]) > 0 and table[1]["epoch"] == "1.3333"
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        "step-00000002.png",
        "step-00000004.png",
    ]
    assert result.grid == run / "samples" / "step-00000004.png"
    loaded = open_run(run)
    assert loaded.step == 4 and set(loaded.ema) == {"G"}
    live, averaged = loaded.model.G.state_dict(), loaded.ema["G"].state_dict()
    assert any(not torch.equal(live[k], averaged[k]) for k in live if k.endswith("weight"))
    [summary] = list_runs(tmp_path)
    assert summary.model == "dcgan" and summary.step == 4 and "d_loss" in summary.losses
    assert summary.sample == run / "samples" / "step-00000004.png"


def test_epochs_and_a_dataset_smaller_than_a_batch(tmp_path):
    data = tiny_dataset(n=5)
    result = train_dcgan(small_model(), quick(epochs=4), data, tmp_path / "r")
    assert result.step == 3  # ceil(4 × 5 / 8)
    assert rows(tmp_path / "r")[-1]["epoch"] == "4.8"


def test_sampler_covers_each_epoch_and_splits_ranks():
    sampler = EpochSampler(size=10, batch=4, seed=1)
    seen = np.concatenate([sampler.next_indices() for _ in range(5)])
    assert sorted(seen[:10].tolist()) == list(range(10))
    assert sorted(seen[10:20].tolist()) == list(range(10))
    ranks = [EpochSampler(size=10, batch=4, seed=1, rank=r, world_size=2) for r in range(2)]
    together = np.concatenate([s.next_indices() for s in ranks])
    assert together.tolist() == EpochSampler(size=10, batch=4, seed=1).next_indices().tolist()
    with pytest.raises(ConfigError):
        EpochSampler(size=10, batch=3, seed=1, world_size=2)


def test_sample_grid_and_glyph_set(tmp_path):
    run = tmp_path / "r"
    train_dcgan(
        small_model(conditional=True),
        quick(steps=1),
        tiny_dataset(),
        run,
    )
    grid = write_grid(run, tmp_path / "grid.png", n=6, text="가나다")
    assert grid.is_file()
    glyphs = write_glyphset(run, tmp_path / "glyphs", text="가나다")
    assert glyphs.text == "가나다" and glyphs.images.shape == (3, 16, 16)
    assert glyphs.images.dtype == np.uint8
    # by default: the syllables the run trained on
    every = write_glyphset(run, tmp_path / "all")
    assert len(every) == 24 and every.codepoints[0] == 0xAC00
    with pytest.raises(Exception, match="already exists"):
        write_glyphset(run, tmp_path / "glyphs", text="가")


def test_unconditional_run_cannot_write_a_glyph_set(tmp_path):
    run = tmp_path / "r"
    train_dcgan(small_model(), quick(steps=1), tiny_dataset(), run)
    with pytest.raises(ConfigError, match="unconditional"):
        write_glyphset(run, tmp_path / "glyphs", text="가")
    with pytest.raises(ConfigError, match="unconditional"):
        write_grid(run, tmp_path / "g.png", text="가")
    assert write_grid(run, tmp_path / "g.png", n=4).is_file()


def test_tensorboard_needs_its_package(tmp_path):
    try:
        import torch.utils.tensorboard  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match="tensorboard"):
            train_dcgan(
                small_model(),
                quick(steps=1, tensorboard=True),
                tiny_dataset(),
                tmp_path / "r",
            )
    else:
        train_dcgan(
            small_model(),
            quick(steps=1, tensorboard=True),
            tiny_dataset(),
            tmp_path / "r",
        )
        assert any((tmp_path / "r" / "tensorboard").iterdir())


def test_checkpoint_round_trip_of_optimizers_and_schedulers(tmp_path):
    net = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    for _ in range(3):
        net(torch.randn(4, 3)).sum().backward()
        optimizer.step()
        scheduler.step()
    path = ckpt.save_checkpoint(
        tmp_path / "c.safetensors",
        model_name="toy",
        step=3,
        networks={"net": net},
        optimizers={"opt": optimizer},
        schedulers={"opt": scheduler},
    )
    net2 = torch.nn.Linear(3, 2)
    optimizer2 = torch.optim.Adam(net2.parameters(), lr=0.1)
    scheduler2 = torch.optim.lr_scheduler.StepLR(optimizer2, step_size=2, gamma=0.5)
    loaded = ckpt.read_checkpoint(path)
    ckpt.load_networks(loaded, {"net": net2})
    ckpt.load_optimizers(loaded, {"opt": optimizer2})
    ckpt.load_schedulers(loaded, {"opt": scheduler2})
    assert scheduler2.last_epoch == 3 and scheduler2.get_last_lr() == scheduler.get_last_lr()
    assert optimizer2.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"] == 0.05
    for p1, p2 in zip(net.parameters(), net2.parameters(), strict=True):
        assert torch.equal(p1, p2)
        for key in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(optimizer.state[p1][key], optimizer2.state[p2][key])
    with pytest.raises(CheckpointError, match="scheduler"):
        ckpt.load_schedulers(loaded, {"other": scheduler2})


def test_run_saved_before_a_new_model_option_still_loads(tmp_path):
    run = tmp_path / "r"
    train_dcgan(small_model(conditional=True, aux_weight=0.0), quick(steps=1), tiny_dataset(), run)
    config = json.loads((run / "config.json").read_text())
    del config["model_config"]["aux_weight"]  # as written before the option existed
    (run / "config.json").write_text(json.dumps(config))
    loaded = open_run(run)
    assert loaded.model.config.aux_weight == 0.0 and loaded.model.D.classify is None
    assert write_grid(run, tmp_path / "g.png", n=2, text="가").is_file()


def test_bf16_autocast_runs_on_cpu_and_changes_the_arithmetic(tmp_path):
    """--amp bf16 trains on CPU (finite losses) and is really applied (losses differ from
    float32)."""
    import math

    data = tiny_dataset()
    train_dcgan(small_model(), quick(steps=2, amp="off"), data, tmp_path / "fp32")
    train_dcgan(small_model(), quick(steps=2, amp="bf16"), data, tmp_path / "bf16")
    fp32, bf16 = losses(tmp_path / "fp32"), losses(tmp_path / "bf16")
    assert all(math.isfinite(float(v)) for row in bf16 for v in row)
    assert fp32 != bf16
    assert RunConfig.load(tmp_path / "fp32").precision == "float32"
    assert RunConfig.load(tmp_path / "bf16").precision == "bf16"


def test_native_bf16_is_read_from_the_cpu_flags():
    from hangulgan.train.device import bf16_is_native, cpu_flags

    cpu = torch.device("cpu")
    # AVX-512 alone only emulates bf16 (slower than float32): not native
    assert not bf16_is_native(cpu, {"avx512f", "avx512bw", "avx512_vnni"})
    assert bf16_is_native(cpu, {"avx512f", "avx512_bf16"})
    assert bf16_is_native(cpu, {"amx_tile", "amx_bf16"})
    assert not bf16_is_native(cpu, set())
    text = "processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16\nbugs\t: none\n"
    assert cpu_flags(text) == {"fpu", "sse", "avx512f", "avx512_bf16"}


def test_amp_auto_follows_native_support_and_a_resume_keeps_the_recorded_precision(
    tmp_path, monkeypatch, capfd
):
    from hangulgan.train import device as device_module

    data = tiny_dataset()
    monkeypatch.setattr(device_module, "cpu_flags", lambda: {"avx512f", "avx512bw"})
    train_dcgan(small_model(), quick(steps=2), data, tmp_path / "emulated")
    train_dcgan(small_model(), quick(steps=2, amp="off"), data, tmp_path / "off")
    assert RunConfig.load(tmp_path / "emulated").precision == "float32"
    assert losses(tmp_path / "emulated") == losses(tmp_path / "off")

    monkeypatch.setattr(device_module, "cpu_flags", lambda: {"avx512f", "avx512_bf16"})
    train_dcgan(small_model(), quick(steps=4), data, tmp_path / "native")
    train_dcgan(small_model(), quick(steps=2), data, tmp_path / "moved")
    assert RunConfig.load(tmp_path / "native").precision == "bf16"
    # the run moves to a machine without native bf16: it keeps bf16, and says so
    monkeypatch.setattr(device_module, "cpu_flags", lambda: {"avx512f"})
    capfd.readouterr()
    train_dcgan(small_model(), quick(steps=4), data, tmp_path / "moved", resume=True)
    assert "keeps the precision it recorded (bf16" in capfd.readouterr().err
    assert RunConfig.load(tmp_path / "moved").precision == "bf16"
    assert losses(tmp_path / "moved") == losses(tmp_path / "native")


def test_single_process_training_pays_for_no_gradient_averaging(tmp_path, monkeypatch):
    """One process: no all-reduce, no flattening of gradients, no call into the runtime."""
    import torch.distributed as dist

    from hangulgan.train.contract import Runtime

    def refuse(*args, **kwargs):
        raise AssertionError("a single process averaged gradients")

    monkeypatch.setattr(dist, "all_reduce", refuse)
    monkeypatch.setattr(torch._utils, "_flatten_dense_tensors", refuse)
    monkeypatch.setattr(Runtime, "reduce_gradients", refuse)
    result = train_dcgan(small_model(), quick(steps=2), tiny_dataset(), tmp_path / "r")
    assert result.step == 2
