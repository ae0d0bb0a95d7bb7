"""Checkpoints as safetensors: every tensor in one file, everything else as JSON metadata.

A checkpoint holds each network's state dict (parameters and buffers), the EMA copies,
each optimizer's state (tensor entries flattened to ``opt.NAME.INDEX.KEY``; param groups
and scalar entries in JSON), the step, the data sampler's position and the RNG states
(torch CPU and CUDA, numpy, python). Files are read and written by
:mod:`hangulgan.train.weights` (nothing is ever unpickled; tensors by safetensors, the rest
by ``json``), atomically, so a crash leaves the previous checkpoint whole.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hangulgan.errors import CheckpointError, HangulganError
from hangulgan.io import stale_temporaries
from hangulgan.train.checkpoint_checks import check_state
from hangulgan.train.weights import header_fields, read_weights, write_weights

CHECKPOINT_FORMAT = "hangulgan.checkpoint"
CHECKPOINT_VERSION = 1
CHECKPOINT_DIR = "checkpoints"
_NAME = re.compile(r"^step-(\d+)\.safetensors$")


class DivergedError(HangulganError):
    """The training diverged: the weights to be saved hold NaN or infinite values, so no
    checkpoint is written (the ones kept before stay, to resume from)."""


@dataclass
class Checkpoint:
    """A checkpoint read from disk: its tensors (on CPU) and its JSON state."""

    path: Path
    tensors: dict[str, torch.Tensor]
    state: dict[str, Any]

    @property
    def model(self) -> str:
        """Name of the model that wrote it."""
        return str(self.state["model"])

    @property
    def step(self) -> int:
        """Optimisation steps taken when it was written."""
        return int(self.state["step"])

    def network_state(self, prefix: str, name: str) -> dict[str, torch.Tensor]:
        """The state dict of network ``name`` under ``prefix`` (``net`` or ``ema``)."""
        head = f"{prefix}.{name}."
        return {k[len(head) :]: v for k, v in self.tensors.items() if k.startswith(head)}


def checkpoint_path(run_dir: Path, step: int) -> Path:
    """Where the checkpoint of ``step`` lives in a run folder."""
    return run_dir / CHECKPOINT_DIR / f"step-{step:08d}.safetensors"


def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """(step, path) of a run's checkpoints, oldest first."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = _NAME.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The newest checkpoint of a run, or None."""
    found = list_checkpoints(run_dir)
    return found[-1][1] if found else None


# ------------------------------------------------------------------------------- saving


def _optimizer_parts(name: str, optimizer: torch.optim.Optimizer) -> tuple[dict, dict]:
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, entry in state["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"opt.{name}.{index}.{key}"] = value
            else:
                scalars.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The RNG states of torch (CPU, CUDA), numpy and python: tensors and JSON parts."""
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for index, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{index}"] = state
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    tensors["rng.numpy"] = torch.from_numpy(np.asarray(np_keys, dtype=np.int64))
    py_version, py_internal, py_gauss = random.getstate()
    tensors["rng.python"] = torch.tensor(py_internal, dtype=torch.int64)
    meta = {
        "numpy": [np_name, int(np_pos), int(np_has_gauss), float(np_gauss)],
        "python": [py_version, py_gauss],
    }
    return tensors, meta


def set_rng_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured (CUDA states only where devices exist)."""
    if "rng.torch" in tensors:
        torch.set_rng_state(tensors["rng.torch"])
    if torch.cuda.is_available():
        states = [
            tensors[f"rng.cuda.{i}"]
            for i in range(torch.cuda.device_count())
            if f"rng.cuda.{i}" in tensors
        ]
        if states:
            torch.cuda.set_rng_state_all(states)
    if "rng.numpy" in tensors and "numpy" in meta:
        name, pos, has_gauss, gauss = meta["numpy"]
        keys = tensors["rng.numpy"].numpy().astype(np.uint32)
        np.random.set_state((name, keys, int(pos), int(has_gauss), float(gauss)))
    if "rng.python" in tensors and "python" in meta:
        version, gauss = meta["python"]
        random.setstate((version, tuple(int(v) for v in tensors["rng.python"].tolist()), gauss))


def save_checkpoint(
    path: Path,
    *,
    model_name: str,
    step: int,
    networks: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    ema: dict[str, nn.Module] | None = None,
    schedulers: dict[str, Any] | None = None,
    model_state: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically to ``path`` (parent folders are created).

    :class:`DivergedError` (nothing written) when a tensor to be saved (weights, EMA
    copies, optimizer state, model state) or a value of the JSON part holds NaN or
    infinity: a checkpoint is never written that no resume could use.
    Learning-rate schedulers' state dicts (plain numbers and lists) go into the JSON part.
    ``model_state`` is the model's extra state (:meth:`Model.extra_state`): tensors are
    stored as ``model.KEY``, other values in the JSON part.
    """
    tensors: dict[str, torch.Tensor] = {}
    model_json: dict[str, Any] = {}
    for key, value in (model_state or {}).items():
        if isinstance(value, torch.Tensor):
            tensors[f"model.{key}"] = value
        else:
            model_json[key] = value
    for prefix, nets in (("net", networks), ("ema", ema or {})):
        for name, net in nets.items():
            for key, value in net.state_dict().items():
                tensors[f"{prefix}.{name}.{key}"] = value
    optimizer_meta = {}
    for name, optimizer in optimizers.items():
        opt_tensors, optimizer_meta[name] = _optimizer_parts(name, optimizer)
        tensors.update(opt_tensors)
    rng_tensors, rng_meta = rng_state()
    tensors.update(rng_tensors)
    # safetensors wants contiguous CPU tensors that share no memory
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    bad = [k for k, v in tensors.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        more = f" and {len(bad) - 1} more tensors" if len(bad) > 1 else ""
        raise DivergedError(
            f"{path}: not written: {bad[0]}{more} hold NaN or infinite values at step {step} "
            "(the training diverged; resume from an earlier checkpoint with a lower "
            "learning rate, or start anew)"
        )
    state = {
        "model": model_name,
        "step": int(step),
        "networks": sorted(networks),
        "ema": sorted(ema or {}),
        "optimizers": optimizer_meta,
        "schedulers": {name: sched.state_dict() for name, sched in (schedulers or {}).items()},
        "rng": rng_meta,
        "model_state": model_json,
        "model_tensors": sorted(k for k, v in (model_state or {}).items() if torch.is_tensor(v)),
        "extra": extra or {},
    }
    try:
        state_text = json.dumps(state, allow_nan=False)
    except TypeError as err:
        raise CheckpointError(f"{path}: state that JSON cannot hold ({err})") from None
    except ValueError:  # allow_nan=False: a NaN learning rate or elapsed time
        raise DivergedError(
            f"{path}: not written: its state holds NaN or infinite values at step {step} "
            "(a learning rate or a loss went non-finite)"
        ) from None
    header = header_fields(CHECKPOINT_FORMAT, CHECKPOINT_VERSION, state=state_text)
    return write_weights(path, tensors, header)


# ------------------------------------------------------------------------------- loading


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint; CheckpointError when missing, truncated or of another format."""
    weights = read_weights(path, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, "checkpoint")
    state = weights.json_field("state", "checkpoint")
    check_state(weights.path, state)
    return Checkpoint(path=weights.path, tensors=weights.tensors, state=state)


def model_state(checkpoint: Checkpoint) -> dict[str, Any]:
    """The model's extra state as :meth:`Model.extra_state` gave it (tensors and JSON)."""
    state = dict(checkpoint.state.get("model_state", {}))
    for key in checkpoint.state.get("model_tensors", []):
        if f"model.{key}" not in checkpoint.tensors:
            raise CheckpointError(f"{checkpoint.path}: model state {key!r} is missing")
        state[key] = checkpoint.tensors[f"model.{key}"]
    return state


def remove_stale_temporaries(run_dir: str | Path) -> list[Path]:
    """Delete the checkpoint temporaries a killed run left behind (call with the run locked).

    Only temporaries hangulgan named (:func:`hangulgan.io.temp_path`: the writer's process
    id and a random token) whose process is gone: a user's ``.step-5.tmp`` stays.
    """
    removed = []
    for path in stale_temporaries(Path(run_dir) / CHECKPOINT_DIR):
        if path.is_file():
            try:
                path.unlink()
            except OSError:
                continue
            removed.append(path)
    return removed


def load_networks(
    checkpoint: Checkpoint, networks: dict[str, nn.Module], prefix: str = "net"
) -> None:
    """Load each network's weights; CheckpointError when they do not fit."""
    for name, net in networks.items():
        weights = checkpoint.network_state(prefix, name)
        if not weights:
            raise CheckpointError(f"{checkpoint.path}: holds no {prefix} weights for {name!r}")
        try:
            net.load_state_dict(weights, strict=True)
        except RuntimeError as err:
            first = str(err).splitlines()[0]
            raise CheckpointError(
                f"{checkpoint.path}: weights of {name!r} do not fit this model ({first})"
            ) from None


def load_optimizers(checkpoint: Checkpoint, optimizers: dict[str, torch.optim.Optimizer]) -> None:
    """Restore optimizer states saved by :func:`save_checkpoint`."""
    saved = checkpoint.state.get("optimizers", {})
    for name, optimizer in optimizers.items():
        if name not in saved:
            raise CheckpointError(f"{checkpoint.path}: holds no state for optimizer {name!r}")
        meta = saved[name]
        state: dict[int, dict[str, Any]] = {}
        head = f"opt.{name}."
        for key, value in checkpoint.tensors.items():
            if key.startswith(head):
                index, field = key[len(head) :].split(".", 1)
                state.setdefault(int(index), {})[field] = value
        for index, scalars in meta.get("scalars", {}).items():
            state.setdefault(int(index), {}).update(scalars)
        groups = []
        for group, live in zip(meta["param_groups"], optimizer.param_groups, strict=True):
            # flags a newer torch added (check_fits allows only those to be missing)
            group = {key: value for key, value in live.items() if key != "params"} | group
            if isinstance(group.get("betas"), list):
                group["betas"] = tuple(group["betas"])
            groups.append(group)
        try:
            optimizer.load_state_dict({"state": state, "param_groups": groups})
        except (ValueError, KeyError, RuntimeError) as err:
            raise CheckpointError(
                f"{checkpoint.path}: optimizer state of {name!r} does not fit ({err})"
            ) from None
        _match_layouts(optimizer)


def load_schedulers(checkpoint: Checkpoint, schedulers: dict[str, Any]) -> None:
    """Restore learning-rate schedulers saved by :func:`save_checkpoint`."""
    saved = checkpoint.state.get("schedulers", {})
    for name, scheduler in schedulers.items():
        if name not in saved:
            raise CheckpointError(f"{checkpoint.path}: holds no state for scheduler {name!r}")
        scheduler.load_state_dict(saved[name])


def _match_layouts(optimizer: torch.optim.Optimizer) -> None:
    """Give each state tensor its parameter's memory layout (channels-last weights).

    ``load_state_dict`` restores state tensors contiguous; fused optimizers read a state
    tensor element by element in its parameter's memory order, so the layouts must agree.
    """
    for group in optimizer.param_groups:
        for param in group["params"]:
            entry = optimizer.state.get(param, {})
            for key, value in entry.items():
                if (
                    isinstance(value, torch.Tensor)
                    and value.shape == param.shape
                    and value.stride() != param.stride()
                ):
                    entry[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)
