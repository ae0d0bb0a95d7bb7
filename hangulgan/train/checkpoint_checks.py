"""Checks of a checkpoint read from disk, before anything of it is loaded.

Every field is checked against its range and against the model that would take it, so
that a damaged file is refused with a :class:`~hangulgan.errors.CheckpointError` naming it
(and ``--resume`` falls back to the checkpoint kept before it) instead of crashing or
training on into non-finite weights. Found by a fault run (issue 19): a data position past
the dataset made the sampler loop and allocate without end; a string learning rate, Adam
betas of one value and a malformed numpy RNG state crashed the resume; a NaN or negative
learning rate and an Adam step of -5 were taken and trained into NaN weights; a step of
10^30 read as "nothing to do".
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from hangulgan.errors import CheckpointError
from hangulgan.train.config import MAX_STEP


class Checkpoint(Protocol):
    """What is checked of a checkpoint read from disk
    (:class:`hangulgan.train.checkpoint.Checkpoint`, which imports this module)."""

    path: Path
    tensors: dict[str, torch.Tensor]
    state: dict[str, Any]

    def network_state(self, prefix: str, name: str) -> dict[str, torch.Tensor]:
        """The state dict of network ``name`` under ``prefix`` (``net`` or ``ema``)."""
        ...


# what the JSON state holds, by key (None: absent is fine)
STATE_TYPES: dict[str, type | tuple[type, ...]] = {
    "model": str,
    "step": int,
    "networks": list,
    "ema": list,
    "optimizers": dict,
    "schedulers": dict,
    "rng": dict,
    "model_state": dict,
    "model_tensors": list,
    "extra": dict,
}
# optimizer and scheduler hyperparameters that are never negative (lists: each value)
NON_NEGATIVE = frozenset(
    {
        "lr", "initial_lr", "eps", "weight_decay", "momentum", "dampening", "alpha",
        "lr_decay", "base_lrs", "_last_lr", "_step_count",
    }
)  # fmt: skip
# per-parameter optimizer state that is a mean of squares: a negative one gives NaN steps
SQUARES = ("_sq", "square_avg")
UINT32 = 2**32


def is_whole(value: Any) -> bool:
    """A JSON whole number (not a boolean)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A finite JSON number (not a boolean)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def damaged(path: Path, what: str) -> CheckpointError:
    """The error of a checkpoint whose metadata is out of shape or range."""
    return CheckpointError(f"{path}: damaged checkpoint metadata ({what})")


def check_state(path: Path, state: Any) -> None:
    """CheckpointError for JSON metadata of the wrong shape or out of range (``"step":
    "abc"``, -1, 10^30; a step other than the file's name says; damaged optimizer tables,
    data position or elapsed time)."""
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: damaged checkpoint metadata (not a table)")
    for key in ("model", "step"):
        if key not in state:
            raise damaged(path, f"no {key!r}")
    for key, kind in STATE_TYPES.items():
        value = state.get(key)
        if value is None:
            continue
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise damaged(path, f"{key!r} is {type(value).__name__}")
    step = state["step"]
    if not 0 <= step <= MAX_STEP:
        raise damaged(path, f"step {step}, outside 0..{MAX_STEP:,}")
    named = _named_step(path)
    if named is not None and named != step:
        raise damaged(path, f"step {step}, but the file is named for step {named}")
    for name, meta in state.get("optimizers", {}).items():
        groups = meta.get("param_groups") if isinstance(meta, dict) else None
        if not isinstance(groups, list) or not all(
            isinstance(g, dict) and isinstance(g.get("params"), list) for g in groups
        ):
            raise damaged(path, f"param groups of optimizer {name!r}")
        if not isinstance(meta.get("scalars", {}), dict):
            raise damaged(path, f"optimizer {name!r}")
    extra = state.get("extra", {})
    sampler = extra.get("sampler")
    if sampler is not None:
        if not isinstance(sampler, dict) or not all(
            is_whole(sampler.get(k)) and 0 <= sampler[k] <= MAX_STEP for k in ("epoch", "position")
        ):
            raise damaged(path, "data position")
        size = sampler.get("size")
        if size is not None and not (is_whole(size) and size >= 1):
            raise damaged(path, "data position")
    elapsed = extra.get("elapsed", 0.0)
    if not is_number(elapsed) or elapsed < 0:
        raise damaged(path, "elapsed time")


def _named_step(path: Path) -> int | None:
    """The step a checkpoint's file name gives (``step-00000004.safetensors``), or None."""
    stem = path.name.removesuffix(".safetensors")
    head, _, digits = stem.partition("-")
    if head == "step" and digits.isdigit() and path.name.endswith(".safetensors"):
        return int(digits)
    return None


def check_tensor(path: Path, what: str, key: str, value: torch.Tensor, like: torch.Tensor) -> None:
    """``what`` (e.g. "weights of 'G' do") fit: same shape and dtype, finite values."""
    if value.shape != like.shape:
        raise CheckpointError(
            f"{path}: {what} not fit this model ({key}: shape {tuple(value.shape)}, "
            f"needs {tuple(like.shape)})"
        )
    if value.dtype != like.dtype:
        raise CheckpointError(
            f"{path}: {what} not fit this model ({key}: {value.dtype}, needs {like.dtype})"
        )
    if value.is_floating_point() and not bool(torch.isfinite(value).all()):
        raise CheckpointError(f"{path}: {key} holds NaN or infinite values")


def check_fits(
    checkpoint: Checkpoint,
    networks: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer] | None = None,
    ema: dict[str, nn.Module] | None = None,
    schedulers: dict[str, Any] | None = None,
) -> None:
    """Check every tensor and value the load would use against the model before anything
    is loaded.

    Network and EMA weights: the same names, shapes and dtypes, all finite. Optimizer
    state: the parameter groups' hyperparameters of the types the live optimizer has, in
    range (learning rates finite and not negative, betas two values in [0, 1)); each state
    entry belongs to an existing parameter, per-parameter tensors have its shape and dtype
    (a mismatch would make a fused optimizer write out of bounds), all finite, step counters
    in 0..MAX_STEP, means of squares not negative. Scheduler states: of the live scheduler's
    shape. RNG states: what torch, numpy and python accept (tried on throwaway generators).
    """
    path = checkpoint.path
    for prefix, nets in (("net", networks), ("ema", ema or {})):
        for name, net in nets.items():
            saved = checkpoint.network_state(prefix, name)
            if not saved:
                raise CheckpointError(f"{path}: holds no {prefix} weights for {name!r}")
            expected = net.state_dict()
            missing = sorted(set(expected) - set(saved))
            unexpected = sorted(set(saved) - set(expected))
            if missing or unexpected:
                detail = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
                raise CheckpointError(
                    f"{path}: weights of {name!r} do not fit this model ({detail})"
                )
            for key, like in expected.items():
                what = f"{'EMA ' if prefix == 'ema' else ''}weights of {name!r} do"
                check_tensor(path, what, f"{prefix}.{name}.{key}", saved[key], like)
    for name, optimizer in (optimizers or {}).items():
        check_optimizer(checkpoint, name, optimizer)
    saved_schedulers = checkpoint.state.get("schedulers", {})
    for name, scheduler in (schedulers or {}).items():
        if name not in saved_schedulers:
            raise CheckpointError(f"{path}: holds no state for scheduler {name!r}")
        check_like(path, f"scheduler {name!r}", saved_schedulers[name], scheduler.state_dict())
    check_rng(checkpoint)


def check_optimizer(checkpoint: Checkpoint, name: str, optimizer: torch.optim.Optimizer) -> None:
    """CheckpointError unless the saved state of optimizer ``name`` fits ``optimizer``."""
    path = checkpoint.path
    saved_meta = checkpoint.state.get("optimizers", {})
    if name not in saved_meta:
        raise CheckpointError(f"{path}: holds no state for optimizer {name!r}")
    params = [p for group in optimizer.param_groups for p in group["params"]]
    groups = saved_meta[name]["param_groups"]
    if [len(g["params"]) for g in groups] != [len(g["params"]) for g in optimizer.param_groups]:
        raise CheckpointError(
            f"{path}: optimizer {name!r} has other parameter groups than this model"
        )
    # torch numbers the parameters 0, 1, ... over the groups in order
    if [index for g in groups for index in g["params"]] != list(range(len(params))):
        raise damaged(path, f"parameter numbers of optimizer {name!r}")
    for saved, live in zip(groups, optimizer.param_groups, strict=True):
        for key, value in live.items():
            if key == "params":
                continue
            if key not in saved:
                if value is None or isinstance(value, bool):
                    continue  # a flag a newer torch added: the live value is used
                raise CheckpointError(f"{path}: optimizer {name!r} has no {key!r}")
            check_like(path, f"optimizer {name!r}: {key}", saved[key], value, key)
    fields: dict[int, set[str]] = {}
    head = f"opt.{name}."
    for key, value in checkpoint.tensors.items():
        if not key.startswith(head):
            continue
        index_text, _, field = key[len(head) :].partition(".")
        if not index_text.isdigit() or int(index_text) >= len(params) or not field:
            raise CheckpointError(f"{path}: {key}: no such parameter in optimizer {name!r}")
        fields.setdefault(int(index_text), set()).add(field)
        param = params[int(index_text)]
        if value.dim() == 0:  # step counters
            if not value.is_floating_point():
                raise CheckpointError(f"{path}: {key} is {value.dtype}, not a step counter")
            number = float(value)
            if not math.isfinite(number):
                raise CheckpointError(f"{path}: {key} holds NaN or infinite values")
            if not 0 <= number <= MAX_STEP:
                raise CheckpointError(f"{path}: {key} is {number:g}, outside 0..{MAX_STEP:,}")
            continue
        check_tensor(path, f"optimizer state of {name!r} does", key, value, param.detach())
        if field.endswith(SQUARES) and bool((value < 0).any()):
            raise CheckpointError(f"{path}: {key} holds negative values (a mean of squares)")
    for index_text, scalars in saved_meta[name].get("scalars", {}).items():
        where = f"optimizer {name!r} parameter {index_text}"
        if not index_text.isdigit() or int(index_text) >= len(params):
            raise CheckpointError(f"{path}: {where}: no such parameter")
        if not isinstance(scalars, dict):
            raise damaged(path, where)
        for field, value in scalars.items():
            if value is not None and not isinstance(value, bool) and not is_number(value):
                raise damaged(path, f"{where}: {field} {value!r}")
            if field == "step" and not (is_number(value) and 0 <= value <= MAX_STEP):
                raise damaged(path, f"{where}: step {value!r}")
            fields.setdefault(int(index_text), set()).add(field)
    if len({frozenset(found) for found in fields.values()}) > 1:
        raise CheckpointError(
            f"{path}: optimizer state of {name!r} is incomplete (parameters hold different entries)"
        )


def check_like(path: Path, where: str, saved: Any, live: Any, key: str = "") -> None:
    """CheckpointError unless ``saved`` (read from JSON) is of the kind of ``live`` (the
    value the running model has): numbers finite, flags booleans or null, lists of the same
    length, tables with the live keys; ``key``'s range where one is known (see
    :data:`NON_NEGATIVE`; ``betas`` in [0, 1))."""
    if live is None or isinstance(live, bool):
        ok = saved is None or isinstance(saved, bool)
    elif isinstance(live, (int, float, torch.Tensor)):
        ok = is_number(saved)
        if ok and key in NON_NEGATIVE and saved < 0:
            raise damaged(path, f"{where} is {saved!r}, must not be negative")
        if ok and key == "last_epoch" and saved < -1:
            raise damaged(path, f"{where} is {saved!r}")
    elif isinstance(live, (list, tuple)):
        ok = isinstance(saved, list) and len(saved) == len(live)
        if ok:
            for item, live_item in zip(saved, live, strict=True):
                check_like(path, where, item, live_item, key)
            if key == "betas" and not all(0 <= beta < 1 for beta in saved):
                raise damaged(path, f"{where} {saved!r}, each must lie in [0, 1)")
    elif isinstance(live, str):
        ok = isinstance(saved, str)
    elif isinstance(live, dict):
        ok = isinstance(saved, dict)
        if ok:
            for name, value in live.items():
                if name in saved:
                    check_like(path, f"{where}: {name}", saved[name], value, name)
    else:  # a callable (a scheduler's lambda is saved as null): not kept in the file
        ok = True
    if not ok:
        raise damaged(path, f"{where} is {saved!r}, not like {live!r}")


def check_rng(checkpoint: Checkpoint) -> None:
    """CheckpointError unless the RNG states are of the sizes and ranges torch, numpy and
    python take: each is set on a throwaway generator, so a bad one fails here and not
    after the weights were loaded."""
    path, tensors = checkpoint.path, checkpoint.tensors
    rng_meta = checkpoint.state.get("rng", {})
    bad = CheckpointError(f"{path}: damaged checkpoint metadata (random generator state)")
    if "rng.torch" in tensors:
        try:
            torch.Generator().set_state(tensors["rng.torch"])
        except (RuntimeError, TypeError, ValueError):
            raise CheckpointError(f"{path}: rng.torch is not a random generator state") from None
    if torch.cuda.is_available():
        like = torch.cuda.get_rng_state()
        for key, value in tensors.items():
            if key.startswith("rng.cuda.") and (
                value.shape != like.shape or value.dtype != like.dtype
            ):
                raise CheckpointError(f"{path}: {key} is not a random generator state")
    numpy_meta, python_meta = rng_meta.get("numpy"), rng_meta.get("python")
    if numpy_meta is not None:
        keys = _generator_words(path, tensors, "rng.numpy", 624)
        if not (isinstance(numpy_meta, list) and len(numpy_meta) == 4) or keys is None:
            raise bad
        name, pos, has_gauss, gauss = numpy_meta
        if not (
            name == "MT19937" and is_whole(pos) and 0 <= pos <= 624
            and has_gauss in (0, 1) and is_whole(has_gauss) and is_number(gauss)
        ):  # fmt: skip
            raise bad
        try:
            np.random.RandomState().set_state((name, keys.astype(np.uint32), pos, has_gauss, gauss))
        except (ValueError, TypeError):
            raise bad from None
    if python_meta is not None:
        words = _generator_words(path, tensors, "rng.python", 625)
        if not (isinstance(python_meta, list) and len(python_meta) == 2) or words is None:
            raise bad
        version, gauss = python_meta
        if version != 3 or not is_whole(version) or not (gauss is None or is_number(gauss)):
            raise bad
        try:
            random.Random().setstate((version, tuple(int(v) for v in words), gauss))
        except (ValueError, TypeError, OverflowError):
            raise bad from None


def _generator_words(path: Path, tensors: dict[str, torch.Tensor], key: str, n: int) -> Any:
    """The Mersenne-Twister words stored as ``key`` (int64, ``n`` of them, each a uint32)
    as a numpy array; None when absent."""
    if key not in tensors:
        return None
    value = tensors[key]
    if value.shape != (n,) or value.dtype != torch.int64:
        raise CheckpointError(f"{path}: {key} is not a random generator state")
    words = value.numpy()
    if words.min() < 0 or words.max() >= UINT32:
        raise CheckpointError(f"{path}: {key} is not a random generator state")
    return words
