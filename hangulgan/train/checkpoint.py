"""Checkpoints as safetensors: every tensor in one file, everything else as JSON metadata.

A checkpoint holds each network's state dict (parameters and buffers), the EMA copies,
each optimizer's state (tensor entries flattened to ``opt.NAME.INDEX.KEY``; param groups
and scalar entries in JSON), the step, the data sampler's position and the RNG states
(torch CPU and CUDA, numpy, python). Nothing is ever unpickled: loading reads tensors
with safetensors and the rest with ``json``. Files are written atomically, so a crash
leaves the previous checkpoint whole.
"""

from __future__ import annotations

import json
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from hangulgan.errors import CheckpointError
from hangulgan.io import atomic_path

CHECKPOINT_FORMAT = "hangulgan.checkpoint"
CHECKPOINT_VERSION = 1
CHECKPOINT_DIR = "checkpoints"
_NAME = re.compile(r"^step-(\d+)\.safetensors$")


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
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically to ``path`` (parent folders are created).

    Learning-rate schedulers' state dicts (plain numbers and lists) go into the JSON part.
    """
    tensors: dict[str, torch.Tensor] = {}
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
    state = {
        "model": model_name,
        "step": int(step),
        "networks": sorted(networks),
        "ema": sorted(ema or {}),
        "optimizers": optimizer_meta,
        "schedulers": {name: sched.state_dict() for name, sched in (schedulers or {}).items()},
        "rng": rng_meta,
        "extra": extra or {},
    }
    try:
        state_text = json.dumps(state)
    except TypeError as err:
        raise CheckpointError(f"{path}: state that JSON cannot hold ({err})") from None
    metadata = {
        "format": CHECKPOINT_FORMAT,
        "version": str(CHECKPOINT_VERSION),
        "state": state_text,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        save_file(tensors, tmp, metadata=metadata)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return path


# ------------------------------------------------------------------------------- loading


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint; CheckpointError when missing, truncated or of another format."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CheckpointError(f"{path}: unreadable or truncated checkpoint ({detail})") from None
    if metadata.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a hangulgan checkpoint")
    if metadata.get("version") != str(CHECKPOINT_VERSION):
        raise CheckpointError(
            f"{path}: checkpoint version {metadata.get('version')}, this hangulgan reads "
            f"version {CHECKPOINT_VERSION}"
        )
    try:
        state = json.loads(metadata["state"])
    except (KeyError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: damaged checkpoint metadata ({err})") from None
    return Checkpoint(path=path, tensors=tensors, state=state)


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
        groups = meta["param_groups"]
        for group in groups:
            if isinstance(group.get("betas"), list):
                group["betas"] = tuple(group["betas"])
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
