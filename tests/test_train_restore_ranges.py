"""Every value a resume restores is checked against its range before anything is loaded
(issue 19): a damaged newest checkpoint is refused with the file named and the run falls
back to the one kept before it; no checkpoint with NaN weights is ever written; sizes
that cannot fit in memory are refused before anything is allocated."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from test_train_trainer import quick, small_model, tiny_dataset, train_dcgan

from hangulgan.errors import CheckpointError, ConfigError
from hangulgan.train import checkpoint as ckpt
from hangulgan.train.config import TrainConfig
from hangulgan.train.sampler import EpochSampler

Damage = Callable[[dict[str, torch.Tensor], dict], None]


def damage(path: Path, change: Damage) -> None:
    """Rewrite checkpoint ``path`` after ``change`` edited its tensors and JSON state."""
    with safe_open(str(path), framework="pt") as handle:
        meta = handle.metadata()
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
    state = json.loads(meta["state"])
    change(tensors, state)
    meta["state"] = json.dumps(state)
    save_file(tensors, str(path), metadata=meta)


def group(state: dict, **values) -> None:
    state["optimizers"]["G"]["param_groups"][0].update(values)


def set_tensor(key: str, value: torch.Tensor) -> Damage:
    return lambda tensors, state: tensors.__setitem__(key, value)


def far_position(tensors, state) -> None:
    state["extra"]["sampler"]["position"] = 10**9


def numpy_state(value) -> Damage:
    return lambda tensors, state: state["rng"].__setitem__("numpy", value)


DAMAGES: dict[str, Damage] = {
    # exit 70 before: a TypeError in Adam, an IndexError unpacking betas, numpy's ValueError
    "lr a string": lambda t, s: group(s, lr="fast"),
    "betas of length 1": lambda t, s: group(s, betas=[0.9]),
    "numpy state position a string": numpy_state(["MT19937", "x", 0, 0.0]),
    "numpy state of another generator": numpy_state(["PCG64", 0, 0, 0.0]),
    "numpy state position past its words": numpy_state(["MT19937", 9999, 0, 0.0]),
    "numpy words out of range": set_tensor("rng.numpy", torch.full((624,), -1, dtype=torch.int64)),
    "python state version": lambda t, s: s["rng"].__setitem__("python", ["3", None]),
    "torch state garbage": set_tensor("rng.torch", torch.zeros(5056, dtype=torch.uint8)),
    # accepted silently before: trained on into non-finite weights, or restarted the data
    "lr NaN": lambda t, s: group(s, lr=math.nan),
    "lr negative": lambda t, s: group(s, lr=-0.001),
    "betas above 1": lambda t, s: group(s, betas=[0.9, 1.5]),
    "eps a flag": lambda t, s: group(s, eps=True),
    "adam step -5": set_tensor("opt.G.0.step", torch.tensor(-5.0)),
    "adam step NaN": set_tensor("opt.G.0.step", torch.tensor(math.nan)),
    "adam step an integer tensor": set_tensor("opt.G.0.step", torch.tensor(3, dtype=torch.int32)),
    "adam square mean negative": lambda t, s: t.__setitem__(
        "opt.G.0.exp_avg_sq", -t["opt.G.0.exp_avg_sq"] - 1
    ),
    "adam state incomplete": lambda t, s: t.pop("opt.G.3.exp_avg"),
    "parameter numbers repeated": lambda t, s: group(s, params=[0] * 14),
    "no extra section": lambda t, s: s.pop("extra"),
    "no data position": lambda t, s: s["extra"].pop("sampler"),
    "data position far out": far_position,
    "data epoch negative": lambda t, s: s["extra"]["sampler"].__setitem__("epoch", -1),
    "step 10**30": lambda t, s: s.__setitem__("step", 10**30),
    "step not the file's": lambda t, s: s.__setitem__("step", 7),
    "elapsed negative": lambda t, s: s["extra"].__setitem__("elapsed", -5.0),
}


@pytest.fixture(scope="module")
def two_checkpoints(tmp_path_factory) -> Path:
    """A run with checkpoints at steps 1 and 2."""
    run = tmp_path_factory.mktemp("run") / "r"
    config = quick(steps=2, checkpoint_every=1, keep_checkpoints=2)
    train_dcgan(small_model(), config, tiny_dataset(), run)
    assert [step for step, _ in ckpt.list_checkpoints(run)] == [1, 2]
    return run


def copy_run(source: Path, target: Path) -> Path:
    import shutil

    shutil.copytree(source, target)
    return target


@pytest.mark.parametrize("name", list(DAMAGES))
def test_a_damaged_value_is_refused_and_the_run_falls_back(two_checkpoints, tmp_path, name, capfd):
    run = copy_run(two_checkpoints, tmp_path / "r")
    newest = ckpt.checkpoint_path(run, 2)
    damage(newest, DAMAGES[name])
    capfd.readouterr()
    config = quick(steps=4, checkpoint_every=1, keep_checkpoints=2)
    result = train_dcgan(small_model(), config, tiny_dataset(), run, resume=True)
    err = capfd.readouterr().err
    assert f"{newest}: " in err and "resuming from the checkpoint before it" in err, err
    assert (result.start_step, result.step) == (1, 4)
    assert all(math.isfinite(v) for v in result.losses.values())
    saved = ckpt.read_checkpoint(ckpt.latest_checkpoint(run))
    assert all(torch.isfinite(v).all() for v in saved.tensors.values() if v.is_floating_point())


@pytest.mark.parametrize(
    "name", ["lr a string", "numpy state position a string", "adam step -5", "no extra section"]
)
def test_with_nothing_to_fall_back_to_the_error_names_the_file(two_checkpoints, tmp_path, name):
    run = copy_run(two_checkpoints, tmp_path / "r")
    for _step, path in ckpt.list_checkpoints(run):
        damage(path, DAMAGES[name])
    with pytest.raises(CheckpointError, match=r"step-00000001\.safetensors: "):
        train_dcgan(small_model(), quick(steps=4), tiny_dataset(), run, resume=True)


def test_a_refused_checkpoint_leaves_the_model_as_it_was(two_checkpoints, tmp_path):
    """Nothing of a refused checkpoint is loaded: the values are checked first."""
    from hangulgan.train.loop import Trainer
    from hangulgan.train.trainer import new_model

    run = copy_run(two_checkpoints, tmp_path / "r")
    damage(ckpt.checkpoint_path(run, 2), far_position)
    data, config = tiny_dataset(), quick(steps=4)
    model = new_model("dcgan", small_model(), data, config)
    before = {k: v.clone() for k, v in model.networks["G"].state_dict().items()}
    trainer = Trainer(model, data, config, None)
    with pytest.raises(CheckpointError, match="data position 1000000000 of epoch 0"):
        trainer.restore(ckpt.checkpoint_path(run, 2))
    after = model.networks["G"].state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items())
    assert trainer.step == 0 and (trainer.sampler.epoch, trainer.sampler.position) == (0, 0)


def test_the_sampler_refuses_a_position_past_the_dataset():
    sampler = EpochSampler(24, 8, seed=0)
    for state in ({"epoch": 0, "position": 24}, {"epoch": 0, "position": 10**9}):
        with pytest.raises(CheckpointError, match=r"c\.safetensors: .*data position"):
            sampler.load_state(state | {"size": 24}, "c.safetensors")
    sampler.position = 10**9  # set behind its back: an error, never an endless loop
    with pytest.raises(ValueError, match="data position"):
        sampler.next_indices()


FAR_SCRIPT = textwrap.dedent(
    """
    import resource, sys
    sys.path.insert(0, sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))
    from pathlib import Path
    from hangulgan.errors import CheckpointError
    from hangulgan.train import checkpoint as ckpt
    from test_train_trainer import quick, small_model, tiny_dataset, train_dcgan
    from test_train_restore_ranges import damage, far_position

    run = Path(sys.argv[1])
    train_dcgan(small_model(), quick(steps=1), tiny_dataset(), run)
    damage(ckpt.latest_checkpoint(run), far_position)
    try:
        train_dcgan(small_model(), quick(steps=3), tiny_dataset(), run, resume=True)
    except CheckpointError as err:
        print("refused:", err)
    """
)


def test_a_far_out_data_position_is_refused_not_run_out_of_memory(tmp_path):
    """Before the fix the sampler looped and allocated until the kernel killed it: run in
    a child process with its memory capped, so that the loop fails this test, not the
    machine."""
    script = tmp_path / "far.py"
    script.write_text(FAR_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "r"), str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refused:" in done.stdout and "step-00000001.safetensors: " in done.stdout
    assert "data position 1000000000" in done.stdout


def test_no_checkpoint_with_non_finite_weights_is_written(tmp_path):
    """A run whose weights go NaN stops with a clear error; the checkpoint kept before
    stays the newest, and a resume from it works."""

    def poison(trainer, step, losses):
        if step == 3:
            with torch.no_grad():
                next(trainer.model.networks["G"].parameters()).fill_(math.nan)

    run = tmp_path / "r"
    config = quick(steps=4, checkpoint_every=2, keep_checkpoints=2)
    with pytest.raises(ckpt.DivergedError, match=r"step-00000004\.safetensors: not written: "):
        train_dcgan(small_model(), config, tiny_dataset(), run, callbacks=[poison])
    assert [step for step, _ in ckpt.list_checkpoints(run)] == [2]
    assert not [p for p in (run / "checkpoints").iterdir() if p.name.startswith(".")]
    result = train_dcgan(small_model(), config, tiny_dataset(), run, resume=True)
    assert (result.start_step, result.step) == (2, 4)


def test_a_non_finite_learning_rate_is_never_written(tmp_path):
    def poison(trainer, step, losses):
        trainer.model.optimizers["G"].param_groups[0]["lr"] = math.inf

    with pytest.raises(ckpt.DivergedError, match="not written: its state holds NaN or infinite"):
        train_dcgan(
            small_model(), quick(steps=1), tiny_dataset(), tmp_path / "r", callbacks=[poison]
        )


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"batch": 10**7}, "--batch 10000000: must lie in 1..65,536"),
        ({"grid": 10**7}, "--grid 10000000: must lie in 1..4,096"),
        ({"steps": 10**30}, "--steps 1000000000000000000000000000000: must lie in 0.."),
        ({"epochs": 1e300}, "--epochs 1e+300: must be positive, at most"),
        ({"threads": 10**7}, "--threads 10000000: must be at most 4,096"),
    ],
)
def test_trainer_sizes_have_upper_bounds(values, words):
    with pytest.raises(ConfigError, match=re.escape(words)):
        TrainConfig(**values).validate()
