"""The model/trainer contract, proven with a test-only model unlike the DCGAN
(tests/toy_translator.py): RGB image folder, two generators and two optimizers, an image
pool in the checkpoint, a clamp after the generator step, random batches, a visual sheet."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from toy_translator import FolderDataConfig, ToyConfig, ToyTranslator, make_image_folder

from hangulgan.train import checkpoint as ckpt
from hangulgan.train.config import RunConfig, TrainConfig
from hangulgan.train.registry import MODELS
from hangulgan.train.trainer import new_model, train

from conftest import run_cli

FAST = ("--batch", "4", "--no-progress", "--log-every", "1", "--sample-every", "0", "--grid", "3")


@pytest.fixture
def toy(monkeypatch):
    """The toy model registered for one test (nothing is registered for good)."""
    monkeypatch.setitem(MODELS, ToyTranslator.name, ToyTranslator)
    return ToyTranslator


@pytest.fixture
def images(tmp_path) -> Path:
    return make_image_folder(tmp_path / "photos")


def tensors(run: Path) -> dict[str, torch.Tensor]:
    checkpoint = ckpt.read_checkpoint(ckpt.latest_checkpoint(run))
    return {k: v for k, v in checkpoint.tensors.items() if not k.startswith("rng.")}


def test_a_registered_model_gets_its_train_command_from_its_config(toy):
    code, out = run_cli("train", "--help")
    assert code == 0 and "toy-translator" in out and "dcgan" in out
    code, out = run_cli("train", "toy-translator", "--help")
    assert code == 0, out
    for option in ("--images", "--workers", "--lr", "--pool-size", "--cycle-weight", "--steps"):
        assert option in out, option
    assert "--corpus" not in out and "--latent" not in out  # the DCGAN's, not this model's
    assert "Fakes kept in the image pool." in out and "[default: 4]" in out


def test_toy_model_trains_through_the_cli_and_draws_a_visual_sheet(toy, images, tmp_path):
    run = tmp_path / "runs" / "toy"
    code, out = run_cli(
        "train", "toy-translator", "--images", images, "--run", run, "--steps", "2",
        "--pool-size", "3", "--amp", "off", *FAST,
    )  # fmt: skip
    assert code == 0, out
    assert "trained steps 0→2" in out
    saved = RunConfig.load(run)
    assert saved.model_config["pool_size"] == 3 and saved.data.images == str(images)
    assert saved.data_info["channels"] == 3 and saved.data_info["ink"] is False
    sheet = Image.open(run / "samples" / "step-00000002.png")
    assert sheet.mode == "RGB"
    # three labelled panels side by side (source | translated | cycled), a row per input,
    # tiles of 8 px with 2 px gaps under a 12 px label row, drawn at scale 2
    assert sheet.size == (2 * (2 + 3 * 10), 2 * (12 + 2 + 3 * 10))
    pixels = np.asarray(sheet)[::2, ::2]
    source = pixels[14:22, 2:10]  # row 0 of the source panel: a real image, not inverted
    photos = [np.asarray(Image.open(p)) for p in sorted(images.glob("*.png"))]
    assert any(np.array_equal(source, photo) for photo in photos)
    # the image pool is part of the checkpoint
    state = ckpt.read_checkpoint(ckpt.latest_checkpoint(run))
    assert state.state["model_state"]["pool_count"] == 3
    assert state.tensors["model.pool"].shape == (3, 3, 8, 8)
    # rho was clamped after every generator step
    for name in ("G_ab", "G_ba"):
        rho = state.tensors[f"net.{name}.rho"]
        assert 0.0 <= float(rho) <= 1.0
    code, out = run_cli("runs", "list", tmp_path / "runs")
    assert code == 0 and "[grid,translate]" in out and "step 2  float32" in out, out
    code, out = run_cli("sample", run, "--n", "3", "--out", tmp_path / "grid.png")
    assert code == 0, out
    assert Image.open(tmp_path / "grid.png").mode == "RGB"
    code, out = run_cli("sample", run, "--text", "가", "--out", tmp_path / "x.png")
    assert code == 2 and "cannot draw given syllables" in out


def test_toy_model_resumes_exactly_as_an_uninterrupted_run(toy, images, tmp_path):
    """Networks, both optimizers, the EMA, the image pool and the (random) batches: a run cut
    at step 3 and resumed equals one that ran through; DataLoader workers read the same
    batches as the in-process path."""
    base = ("train", "toy-translator", "--images", images, *FAST, "--ema", "--pool-size", "3")
    code, out = run_cli(*base, "--run", tmp_path / "straight", "--steps", "7")
    assert code == 0, out
    code, out = run_cli(*base, "--run", tmp_path / "cut", "--steps", "3", "--workers", "2")
    assert code == 0, out
    code, out = run_cli(
        "train", "toy-translator", "--run", tmp_path / "cut", "--resume", "--steps", "7",
        "--no-progress",
    )  # fmt: skip
    assert code == 0 and "trained steps 3→7" in out, out
    straight, cut = tensors(tmp_path / "straight"), tensors(tmp_path / "cut")
    assert set(straight) == set(cut)
    assert any(k.startswith("opt.G.") for k in straight) and "model.pool" in straight
    for key, value in straight.items():
        assert torch.equal(value, cut[key]), key
    metrics = [(tmp_path / r / "metrics.csv").read_text().splitlines() for r in ("straight", "cut")]
    strip = [[",".join(line.split(",")[:2] + line.split(",")[4:]) for line in m] for m in metrics]
    assert strip[0] == strip[1] and len(strip[0]) == 8


def test_an_optimizer_stepped_directly_is_refused(images):
    from hangulgan.train.trainer import data_info

    class Sloppy(ToyTranslator):
        def training_step(self, batch, step):
            loss = self.networks["G_ab"](batch["a"]).mean()
            loss.backward()
            self.optimizers["G"].step()  # not through optimizer_step: ranks would drift
            return {"loss": loss.detach()}

    dataset = ToyTranslator.make_dataset(FolderDataConfig(images=str(images)), ToyConfig())
    model = Sloppy(ToyConfig(), data_info(dataset))
    with pytest.raises(RuntimeError, match="optimizer_step"):
        model.training_step(dataset.get_batch(np.arange(2)), 0)


def test_optimizers_are_built_once_after_the_networks_are_placed(images):
    from hangulgan.train.trainer import data_info

    dataset = ToyTranslator.make_dataset(FolderDataConfig(images=str(images)), ToyConfig())
    model = ToyTranslator(ToyConfig(), data_info(dataset)).to("cpu")
    first = model.optimizers
    assert model.optimizers is first  # built once
    param = next(model.networks["G_ab"].parameters())
    assert any(param is p for g in first["G"].param_groups for p in g["params"])
    with pytest.raises(RuntimeError, match="before its optimizers are built"):
        model.to("meta")


DDP_SCRIPT = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from safetensors.torch import save_file
    from hangulgan.train.registry import register_model
    from hangulgan.train.config import TrainConfig
    from hangulgan.train.trainer import new_model, train
    from toy_translator import FolderDataConfig, ToyConfig, ToyTranslator

    register_model(ToyTranslator)
    out = Path(sys.argv[1])
    data = FolderDataConfig(images=str(out / "photos"), workers=1)
    captured = {}

    def grab(trainer, step, losses):
        for name, net in trainer.model.networks.items():
            for key, value in net.named_parameters():
                captured[f"{name}.{key}"] = value.detach().clone()
        captured["pool"] = trainer.model.pool.clone()
        captured[f"g_loss.{step}"] = losses["g_loss"].reshape(1).clone()

    config = TrainConfig(steps=3, batch=4, log_every=1, sample_every=0, progress=False, grid=2)
    model = ToyConfig(pool_size=2)
    dataset = ToyTranslator.make_dataset(data, model)
    toy = new_model("toy-translator", model, dataset, config)
    train(toy, config, dataset, out / "run", data=data, callbacks=[grab])
    save_file(captured, str(out / f"rank{os.environ['RANK']}.safetensors"))
    """
)


@pytest.mark.slow
def test_toy_model_under_two_ddp_processes_keeps_identical_weights(toy, tmp_path):
    make_image_folder(tmp_path / "photos")
    script = tmp_path / "ddp_toy.py"
    script.write_text(DDP_SCRIPT)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
        str(script), str(tmp_path), str(Path(__file__).parent),
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    rank0 = load_file(tmp_path / "rank0.safetensors")
    rank1 = load_file(tmp_path / "rank1.safetensors")
    weights = [k for k in rank0 if k.startswith(("G_", "D_"))]
    assert len(weights) == 14  # 3 tensors in each generator, 4 in each critic
    for key in weights:
        assert torch.equal(rank0[key], rank1[key]), key
    # each rank draws its own half of the batch (and its own random partners)
    assert not torch.equal(rank0["g_loss.3"], rank1["g_loss.3"])
    assert not torch.equal(rank0["pool"], rank1["pool"])
    assert RunConfig.load(tmp_path / "run").world_size == 2


def test_train_config_defaults_live_in_the_dataclass():
    from hangulgan.cli.train_commands import build_train_command

    command = build_train_command(ToyTranslator)
    defaults = {p.name: p.default for p in command.params}
    assert defaults["train__batch"] == TrainConfig().batch
    assert defaults["model__cycle_weight"] == ToyConfig().cycle_weight


def test_grids_are_drawn_in_float32_in_a_bf16_run(images, tmp_path, monkeypatch):
    seen = []

    class Watched(ToyTranslator):
        def training_step(self, batch, step):
            seen.append(("train", torch.is_autocast_enabled("cpu")))
            return super().training_step(batch, step)

        def generate(self, inputs, networks=None):
            seen.append(("sample", torch.is_autocast_enabled("cpu")))
            return super().generate(inputs, networks)

    monkeypatch.setitem(MODELS, Watched.name, Watched)
    data = FolderDataConfig(images=str(images))
    config = TrainConfig(steps=1, batch=4, amp="bf16", progress=False, grid=2)
    dataset = Watched.make_dataset(data, ToyConfig())
    model = new_model("toy-translator", ToyConfig(), dataset, config)
    train(model, config, dataset, tmp_path / "r", data=data)
    assert seen == [("train", True), ("sample", False)]
    assert RunConfig.load(tmp_path / "r").precision == "bf16"


def test_the_dcgan_keeps_its_options_and_gains_the_ones_only_toml_could_set():
    code, out = run_cli("train", "dcgan", "--help")
    assert code == 0
    for option in (
        "--latent", "--conditional", "--loss [bce|hinge]", "--spectral-norm", "--lr",
        "--channels-last / --no-channels-last", "--corpus", "--faces", "--charset", "--ema",
        # before, these could be set only through a TOML file
        "--jamo-dim", "--beta1", "--beta2", "--dropout", "--aux-weight",
    ):  # fmt: skip
        assert option in out, option
