"""The one training loop of hangulgan, shared by every model.

:func:`train` sets up a run (device, seeds, run folder, model, distributed group) and
:class:`Trainer` runs it. A model (:class:`hangulgan.train.contract.Model`) supplies networks,
optimizers and a step; the trainer owns everything else:

* device (CUDA when present, else CPU), torch threads, bf16 autocast where the device
  runs bf16 natively (CUDA compute capability 8.0+; CPUs with AVX512-BF16 or AMX), the
  precision recorded in the run and kept on resume; sampling runs in float32;
* seeding: the networks are built from ``seed`` on every rank alike; each batch is drawn
  under a seed of ``(seed, rank, step)`` (so random references or crops repeat) and each
  step's randomness (noise, dropout) after seeding torch from ``(seed, rank, step)``, so
  a resumed or distributed run draws exactly what an uninterrupted one would;
* the data (:class:`~hangulgan.train.contract.TrainingData`): a shuffled stream of epochs
  whose position is checkpointed, gathered in-process or by DataLoader workers;
* checkpoints (safetensors, atomic, checked against the model before loading) every
  ``checkpoint_every`` steps, at the end and before exiting on Ctrl-C or SIGTERM, with
  the model's extra state; a resume falls back from a damaged newest checkpoint;
* ``metrics.csv``, optional TensorBoard, a tqdm bar with running losses and images/s;
* sample grids or visual sheets from fixed inputs (and a fixed batch of real data) every
  ``sample_every`` steps and at the end;
* EMA copies of the networks the model names in ``ema_networks``;
* DDP under torchrun (see :mod:`hangulgan.train.dist`); only rank 0 writes, holding the
  run folder's lock (one writer per run).

A run folder holds ``config.json``, ``checkpoints/``, ``samples/``, ``metrics.csv`` and,
with TensorBoard, ``tensorboard/``.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import ctypes
import json
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from hangulgan import hangul
from hangulgan.errors import CheckpointError, ConfigError, HangulganError, RunError
from hangulgan.io import folder_lock
from hangulgan.train import checkpoint as ckpt
from hangulgan.train.config import CONFIG_FILE, RUN_FORMAT, RunConfig, TrainConfig
from hangulgan.train.contract import DataInfo, Model, TrainingData
from hangulgan.train.dist import (
    DistContext,
    DistributedRuntime,
    any_rank,
    barrier,
    broadcast_modules,
    init_distributed,
    shutdown_distributed,
)
from hangulgan.train.grid import save_panels
from hangulgan.train.options import ModelConfig, from_dict
from hangulgan.train.registry import get_model_class

METRICS_FILE = "metrics.csv"
SAMPLES_DIR = "samples"
TENSORBOARD_DIR = "tensorboard"
_RUN_ENTRIES = (CONFIG_FILE, METRICS_FILE, ckpt.CHECKPOINT_DIR, SAMPLES_DIR, TENSORBOARD_DIR)

StepCallback = Callable[["Trainer", int, dict[str, torch.Tensor]], None]


# ------------------------------------------------------------------------------ helpers


def mix_seed(*parts: int) -> int:
    """A 63-bit seed from integers (splitmix64 rounds), for seeds ``(seed, rank, step)``."""
    state = 0x9E3779B97F4A7C15
    for part in parts:
        state = (state ^ (int(part) & 0xFFFFFFFFFFFFFFFF)) & 0xFFFFFFFFFFFFFFFF
        state = (state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        state = z ^ (z >> 31)
    return state & 0x7FFFFFFFFFFFFFFF


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA), numpy's global RNG and python's ``random``."""
    import random

    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def resolve_device(spec: str) -> torch.device:
    """``auto`` → CUDA when present, else CPU; otherwise the named device (checked)."""
    if spec in ("auto", "", None):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError as err:
        raise ConfigError(f"--device {spec}: {err}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {spec}: CUDA is not available on this machine")
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"--device {spec}: choose auto, cpu or cuda[:N]")
    return device


class EpochSampler:
    """Shuffled epochs as one endless stream; each step takes the next global batch.

    A batch may span an epoch boundary (so a dataset smaller than a batch still works).
    Rank ``r`` of ``w`` takes the ``r``-th of ``w`` equal slices of every global batch.
    The permutation of epoch ``e`` depends only on ``(seed, e)``; ``state()`` is the
    position, so a resumed run continues the same order.
    """

    def __init__(self, size: int, batch: int, seed: int, rank: int = 0, world_size: int = 1):
        if size < 1:
            raise ConfigError("the dataset is empty")
        if batch % world_size:
            raise ConfigError(f"--batch {batch}: must be a multiple of the {world_size} processes")
        self.size, self.batch, self.seed = size, batch, seed
        self.rank, self.world_size = rank, world_size
        self.epoch, self.position = 0, 0
        self._cached: tuple[int, np.ndarray] | None = None

    def _permutation(self, epoch: int) -> np.ndarray:
        if self._cached is None or self._cached[0] != epoch:
            generator = torch.Generator().manual_seed(mix_seed(self.seed, 0x5A3F, epoch))
            self._cached = (epoch, torch.randperm(self.size, generator=generator).numpy())
        return self._cached[1]

    def next_indices(self) -> np.ndarray:
        """This rank's indices for the next step."""
        parts, need = [], self.batch
        while need:
            perm = self._permutation(self.epoch)
            take = perm[self.position : self.position + need]
            parts.append(take)
            need -= len(take)
            self.position += len(take)
            if self.position == self.size:
                self.epoch, self.position = self.epoch + 1, 0
        batch = parts[0] if len(parts) == 1 else np.concatenate(parts)
        share = self.batch // self.world_size
        return batch[self.rank * share : (self.rank + 1) * share]

    @property
    def epochs_done(self) -> float:
        """Epochs consumed so far (fractional)."""
        return self.epoch + self.position / self.size

    def state(self) -> dict[str, int]:
        """Position in the stream, for checkpoints."""
        return {"epoch": self.epoch, "position": self.position, "size": self.size}

    def load_state(self, state: dict[str, int]) -> None:
        """Continue from a saved position (the dataset must be the same size)."""
        if int(state.get("size", self.size)) != self.size:
            raise CheckpointError(
                f"the dataset now holds {self.size} glyphs, the run was trained on "
                f"{state.get('size')}: the corpus or the selection changed"
            )
        self.epoch, self.position = int(state["epoch"]), int(state["position"])


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The CPU feature flags Linux lists in ``/proc/cpuinfo`` (empty where unreadable)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
        except OSError:
            return set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4


def reuse_freed_memory() -> bool:
    """Have glibc's malloc hand large tensors memory the process has already touched.

    By default glibc serves each allocation of 32 MiB or more (and smaller ones above its
    adaptive threshold) with fresh pages from ``mmap`` and unmaps them on free, so every
    such tensor of every step pays for page faults and zeroing: at batch 256 the DCGAN's
    32 MiB activations held its float32 step to 194 img/s, against 218 with this setting
    (bench_dcgan, one thread, 2-core AMD EPYC). TensorFlow keeps its own caching
    allocator on CPU, torch does not. With mmap off and the heap's top kept, freed blocks
    are reused; the process keeps its peak memory instead of returning it between steps.
    Applies to the whole process (a training process: ``train`` calls it on CPU). Returns
    whether it took effect (glibc only).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others: no mallopt, nothing to tune
        return False
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**30))


def bf16_is_native(device: torch.device, flags: set[str] | None = None) -> bool:
    """Whether bf16 autocast speeds this device up, from its native bf16 support only.

    CUDA: compute capability 8.0 or more (Ampere and later have bf16 tensor cores). CPU:
    the AVX512-BF16 or AMX-BF16 instructions (``flags`` from :func:`cpu_flags`), where
    oneDNN's bf16 convolutions and matmuls nearly double the DCGAN step (measured: ~950
    against ~500 img/s at batch 256). oneDNN also runs bf16 on plain AVX-512 by emulation,
    slower than float32, so its own "bf16 supported" answer is not used.
    """
    if device.type == "cuda":
        return torch.cuda.get_device_capability(device)[0] >= 8
    if device.type == "cpu":
        flags = cpu_flags() if flags is None else flags
        return "avx512_bf16" in flags or {"amx_bf16", "amx_tile"} <= flags
    return False


def resolve_precision(amp: str, device: torch.device) -> str:
    """``float32`` or ``bf16`` for ``--amp auto|off|bf16`` on ``device``."""
    if amp == "bf16":
        if device.type not in ("cuda", "cpu"):
            raise ConfigError(f"--amp bf16: no bf16 autocast on {device.type}")
        return "bf16"
    if amp == "auto" and bf16_is_native(device):
        return "bf16"
    return "float32"


class EMA:
    """Exponential moving averages of some networks' weights (buffers are copied)."""

    def __init__(self, networks: dict[str, nn.Module], names: tuple[str, ...], decay: float):
        self.decay = decay
        self.sources = {name: networks[name] for name in names}
        self.copies = {
            name: copy.deepcopy(net).requires_grad_(False).eval()
            for name, net in self.sources.items()
        }
        self._params = [
            (list(self.copies[n].parameters()), list(self.sources[n].parameters())) for n in names
        ]
        self._buffers = [
            (list(self.copies[n].buffers()), list(self.sources[n].buffers())) for n in names
        ]

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Move the averages toward the live weights (decay warms up over early steps)."""
        decay = min(self.decay, (1.0 + step) / (10.0 + step))
        for averaged, live in self._params:
            torch._foreach_lerp_(averaged, live, 1.0 - decay)
        for averaged, live in self._buffers:
            for a, b in zip(averaged, live, strict=True):
                a.copy_(b)


class MetricsLog:
    """``metrics.csv``: one row per logging interval (means over the interval)."""

    def __init__(self, path: Path, resume_step: int | None) -> None:
        self.path = path
        self.columns: list[str] | None = None
        if resume_step is not None and path.is_file():
            self._truncate_after(resume_step)
        elif path.exists():
            path.unlink()
        self._handle = None

    def _truncate_after(self, step: int) -> None:
        """Drop rows logged after the checkpoint a run resumes from (they will be redone)."""
        with open(self.path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        if not rows:
            return
        self.columns = rows[0]
        kept = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) <= step]
        with open(self.path, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(kept)

    def write(self, row: dict[str, Any]) -> None:
        """Append one row (the header is written with the first row)."""
        if self._handle is None:
            self._handle = open(self.path, "a", newline="", encoding="utf-8")
            if self.columns is None:
                self.columns = list(row)
                csv.writer(self._handle).writerow(self.columns)
        values = []
        for name in self.columns:
            value = row.get(name, "")
            values.append(repr(value) if isinstance(value, float) else value)
        csv.writer(self._handle).writerow(values)
        self._handle.flush()

    def close(self) -> None:
        """Close the file."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class _StopRequest:
    """Turns the first SIGINT/SIGTERM into a flag checked between steps.

    The step in flight finishes, a checkpoint is written, and the run stops. A second
    Ctrl-C raises KeyboardInterrupt at once (without saving).
    """

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal = signum

    def __enter__(self) -> _StopRequest:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


@dataclass
class TrainResult:
    """What a call to :meth:`Trainer.fit` did."""

    run_dir: Path | None
    start_step: int
    step: int
    total_steps: int
    interrupted: bool = False
    signal: int | None = None
    losses: dict[str, float] = field(default_factory=dict)
    checkpoint: Path | None = None
    grid: Path | None = None
    seconds: float = 0.0
    images_per_second: float = 0.0
    rank: int = 0
    nothing_to_do: bool = False  # a resumed run already at (or past) its last step


class _StepPlan(torch.utils.data.Sampler):
    """(indices, seed) of each step from ``start`` on, for DataLoader workers."""

    def __init__(self, sampler: EpochSampler, start: int, stop: int, trainer: Trainer) -> None:
        self.sampler, self.start, self.stop, self.trainer = sampler, start, stop, trainer

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __iter__(self) -> Iterator[tuple[np.ndarray, int]]:
        for step in range(self.start, self.stop):
            yield self.sampler.next_indices(), self.trainer._batch_seed(step)


class _PlannedBatches(torch.utils.data.Dataset):
    """Calls ``dataset.get_batch`` for a planned step in a worker, seeded like in-process."""

    def __init__(self, dataset: TrainingData) -> None:
        self.dataset = dataset

    def __getitem__(self, plan: tuple[np.ndarray, int]) -> dict[str, torch.Tensor]:
        indices, seed = plan
        torch.manual_seed(seed)
        return self.dataset.get_batch(indices, seed=seed)


def fixed_batch(dataset: TrainingData, n: int, seed: int) -> dict[str, torch.Tensor]:
    """``n`` items of ``dataset`` picked by ``seed`` alone: the real data of a run's grids
    (a translation model's sources, a few-shot model's references), here and in ``sample``.
    Global RNG states are left as they were."""
    n = min(n, len(dataset))
    generator = torch.Generator().manual_seed(mix_seed(seed, 0x6A1E))
    indices = np.sort(torch.randperm(len(dataset), generator=generator)[:n].numpy())
    batch_seed = mix_seed(seed, 0x6A1F)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(batch_seed)
        return dataset.get_batch(indices, seed=batch_seed)


def check_training_data(dataset: Any) -> None:
    """ConfigError naming what a dataset lacks of the :class:`TrainingData` protocol."""
    missing = [
        name
        for name in (
            "channels", "size", "face_names", "codepoints", "batch_keys", "ink",
            "loader_workers", "get_batch", "__len__",
        )
        if not hasattr(dataset, name)
    ]  # fmt: skip
    if missing:
        raise ConfigError(
            f"{type(dataset).__name__} is no training dataset: it lacks {', '.join(missing)}"
        )


# ------------------------------------------------------------------------------ the loop


class Trainer:
    """Runs a model's steps with everything around them (see the module docstring)."""

    def __init__(
        self,
        model: Model,
        dataset: TrainingData,
        config: TrainConfig,
        run_dir: str | Path | None,
        *,
        ctx: DistContext | None = None,
        callbacks: list[StepCallback] | None = None,
        precision: str | None = None,
    ) -> None:
        check_training_data(dataset)
        self.model = model
        self.dataset = dataset
        self.config = config
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.ctx = ctx or DistContext()
        self.callbacks = list(callbacks or [])
        self.device = model.device
        self.step = 0
        self.total_steps = config.total_steps(len(dataset))
        self.sampler = EpochSampler(
            len(dataset), config.batch, config.seed, self.ctx.rank, self.ctx.world_size
        )
        model.optimizers  # noqa: B018 -- built here, once, with the networks on their device
        self.ema = EMA(model.networks, model.ema_networks, config.ema_decay) if config.ema else None
        self.elapsed = 0.0  # training seconds over all sessions of the run
        self._stop = False
        self._resumed_from: int | None = None
        self._grid_real: dict[str, torch.Tensor] | None = None
        self.writes = self.ctx.is_main and self.run_dir is not None
        self.precision = precision or resolve_precision(config.amp, self.device)
        self.autocast = self.precision == "bf16"

    # -- control ------------------------------------------------------------------------
    def request_stop(self) -> None:
        """Stop after the current step (a checkpoint is written), as on Ctrl-C."""
        self._stop = True

    def ema_networks(self) -> dict[str, nn.Module]:
        """The EMA copies (empty without EMA)."""
        return dict(self.ema.copies) if self.ema else {}

    # -- data -----------------------------------------------------------------------------
    def _batch_seed(self, step: int) -> int:
        return mix_seed(self.config.seed, self.ctx.rank, step, 0xBA7C)

    def _batches(self) -> Iterator[dict[str, torch.Tensor]]:
        """The batches of the steps from the current one on, each drawn under its seed.

        In-memory data is gathered here; data with ``loader_workers`` comes from a
        DataLoader whose workers follow a copy of the sampler (so the sampler's own
        position, which checkpoints keep, moves only as steps are taken).
        """
        workers = int(self.dataset.loader_workers)
        if workers <= 0:
            step = self.step
            while True:
                indices = self.sampler.next_indices()
                seed = self._batch_seed(step)
                torch.manual_seed(seed)
                yield self.dataset.get_batch(indices, seed=seed)
                step += 1
        plan = _StepPlan(copy.deepcopy(self.sampler), self.step, self.total_steps, self)
        loader = torch.utils.data.DataLoader(
            _PlannedBatches(self.dataset),
            sampler=plan,
            batch_size=None,
            num_workers=workers,
            pin_memory=self.device.type == "cuda",
        )
        for batch in loader:
            self.sampler.next_indices()
            yield batch

    # -- checkpoints ----------------------------------------------------------------------
    def save_checkpoint(self) -> Path | None:
        """Write a checkpoint of the current step (rank 0 only) and prune old ones."""
        if not self.writes:
            return None
        path = ckpt.save_checkpoint(
            ckpt.checkpoint_path(self.run_dir, self.step),
            model_name=self.model.name,
            step=self.step,
            networks=self.model.networks,
            optimizers=self.model.optimizers,
            schedulers=self.model.schedulers,
            ema=self.ema_networks(),
            model_state=self.model.extra_state(),
            extra={"sampler": self.sampler.state(), "elapsed": self.elapsed},
        )
        for _, old in ckpt.list_checkpoints(self.run_dir)[: -self.config.keep_checkpoints]:
            old.unlink(missing_ok=True)
        return path

    def restore(self, path: str | Path) -> None:
        """Continue from a checkpoint: weights, optimizers, EMA, model state, step, data
        position, RNG. Every tensor is checked against the model before any is loaded."""
        checkpoint = ckpt.read_checkpoint(path)
        if checkpoint.model != self.model.name:
            raise CheckpointError(
                f"{checkpoint.path}: holds a {checkpoint.model!r} model, not {self.model.name!r}"
            )
        ema = self.ema.copies if (self.ema is not None and checkpoint.state.get("ema")) else {}
        ckpt.check_fits(checkpoint, self.model.networks, self.model.optimizers, ema)
        ckpt.load_networks(checkpoint, self.model.networks)
        ckpt.load_optimizers(checkpoint, self.model.optimizers)
        ckpt.load_schedulers(checkpoint, self.model.schedulers)
        if self.ema is not None:
            if ema:
                ckpt.load_networks(checkpoint, self.ema.copies, prefix="ema")
            else:  # EMA switched on for a run that had none: start it from the live weights
                for name, net in self.ema.copies.items():
                    net.load_state_dict(self.model.networks[name].state_dict())
        self.model.load_extra_state(ckpt.model_state(checkpoint))
        extra = checkpoint.state.get("extra", {})
        self.sampler.load_state(extra.get("sampler", {"epoch": 0, "position": 0}))
        self.elapsed = float(extra.get("elapsed", 0.0))
        ckpt.set_rng_state(checkpoint.tensors, checkpoint.state.get("rng", {}))
        self.step = checkpoint.step
        self._resumed_from = self.step

    # -- grids ----------------------------------------------------------------------------
    def grid_real_batch(self) -> dict[str, torch.Tensor]:
        """A fixed batch of real data (the same at every grid of the run, and on resume)."""
        if self._grid_real is None:
            self._grid_real = fixed_batch(self.dataset, self.config.grid, self.config.seed)
        return self._grid_real

    def _grid_inputs(self) -> dict[str, torch.Tensor]:
        generator = torch.Generator().manual_seed(mix_seed(self.config.seed, 0x6A1D))
        return self.model.grid_inputs(self.config.grid, generator, real=self.grid_real_batch())

    def save_samples(self) -> Path | None:
        """Write the sample grid (or visual sheet) of the current step (EMA weights when kept).

        Sampling runs in float32 whatever the training precision.
        """
        if not self.writes:
            return None
        self.model.train(False)
        try:
            panels = self.model.visuals(self._grid_inputs(), self.ema_networks() or None)
        finally:
            self.model.train(True)
        path = self.run_dir / SAMPLES_DIR / f"step-{self.step:08d}.png"
        return save_panels(panels, path, ink=self.dataset.ink)

    def _mean_over_ranks(self, sums: dict[str, torch.Tensor], count: int) -> dict[str, float]:
        """Interval means of the losses, averaged over all ranks (one all-reduce per log)."""
        if not sums:
            return {}
        names = list(sums)
        values = torch.stack([sums[k].detach().float() for k in names]) / count
        if self.ctx.distributed:
            import torch.distributed as dist

            dist.all_reduce(values)
            values /= self.ctx.world_size
        return dict(zip(names, values.tolist(), strict=True))

    # -- the loop -------------------------------------------------------------------------
    def fit(self) -> TrainResult:
        """Train from the current step to ``total_steps``; returns what happened."""
        cfg = self.config
        start = self.step
        metrics = tb = None
        if self.writes:
            metrics = MetricsLog(self.run_dir / METRICS_FILE, self._resumed_from)
            tb = _tensorboard(self.run_dir / TENSORBOARD_DIR) if cfg.tensorboard else None
        bar = tqdm(
            total=self.total_steps,
            initial=start,
            disable=not (cfg.progress and self.ctx.is_main),
            unit="step",
            dynamic_ncols=True,
            mininterval=0.5,
            leave=True,
        )
        sums: dict[str, torch.Tensor] = {}
        count = 0
        last: dict[str, float] = {}
        images_per_step = cfg.batch
        t_log = time.perf_counter()
        t_session = t_log
        steps_session = 0
        ckpt_path = grid_path = None
        stopper = _StopRequest()
        self.model.train(True)
        batches = self._batches()  # a generator: nothing is read before the first step
        try:
            with stopper:
                while self.step < self.total_steps:
                    batch = next(batches)
                    torch.manual_seed(mix_seed(cfg.seed, self.ctx.rank, self.step))
                    if self.autocast:
                        with torch.autocast(self.device.type, dtype=torch.bfloat16):
                            losses = self.model.training_step(batch, self.step)
                    else:
                        losses = self.model.training_step(batch, self.step)
                    self.step += 1
                    steps_session += 1
                    if self.ema is not None:
                        self.ema.update(self.step)
                    for name, value in losses.items():
                        sums[name] = sums[name] + value if name in sums else value.detach()
                    count += 1
                    for callback in self.callbacks:
                        callback(self, self.step, losses)
                    final = self.step == self.total_steps
                    if (cfg.log_every and self.step % cfg.log_every == 0) or final:
                        now = time.perf_counter()
                        rate = count * images_per_step / max(now - t_log, 1e-9)
                        last = self._mean_over_ranks(sums, count)
                        self.elapsed += now - t_log
                        row = {"step": self.step, "epoch": round(self.sampler.epochs_done, 4)}
                        row |= {"seconds": round(self.elapsed, 3), "img_per_s": round(rate, 1)}
                        row |= last
                        if metrics is not None:
                            metrics.write(row)
                        if tb is not None:
                            for key, value in last.items():
                                tb.add_scalar(f"loss/{key}", value, self.step)
                            tb.add_scalar("speed/img_per_s", rate, self.step)
                        bar.set_postfix(
                            {k: f"{v:.3f}" for k, v in last.items()} | {"img/s": f"{rate:.0f}"},
                            refresh=False,
                        )
                        sums, count, t_log = {}, 0, now
                    bar.update(1)
                    if cfg.sample_every and self.step % cfg.sample_every == 0 and not final:
                        grid_path = self.save_samples() or grid_path
                    if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0 and not final:
                        ckpt_path = self.save_checkpoint() or ckpt_path
                    stop = self._stop or stopper.signal is not None
                    if any_rank(stop, self.ctx, self.device):
                        break
        finally:
            batches.close()  # ends DataLoader workers
            bar.close()
            if count:
                self.elapsed += time.perf_counter() - t_log
        interrupted = self.step < self.total_steps
        if self.step > start or self._resumed_from is None or interrupted:
            ckpt_path = self.save_checkpoint() or ckpt_path
            if not interrupted:
                grid_path = self.save_samples() or grid_path
        if metrics is not None:
            metrics.close()
        if tb is not None:
            tb.close()
        barrier(self.ctx)
        session = time.perf_counter() - t_session
        return TrainResult(
            run_dir=self.run_dir,
            start_step=start,
            step=self.step,
            total_steps=self.total_steps,
            interrupted=interrupted,
            signal=stopper.signal,
            losses=last,
            checkpoint=ckpt_path,
            grid=grid_path,
            seconds=session,
            images_per_second=steps_session * images_per_step / max(session, 1e-9),
            rank=self.ctx.rank,
        )


def _tensorboard_class() -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ConfigError(
            "--tensorboard needs the tensorboard package: pip install 'hangulgan[tensorboard]'"
        ) from None
    return SummaryWriter


def _tensorboard(folder: Path) -> Any:
    return _tensorboard_class()(str(folder))


# ------------------------------------------------------------------------------ set-up


def data_info(dataset: TrainingData, grid: int = 64) -> DataInfo:
    """Describe a dataset to a model: size, channels, faces, batch keys and, for glyphs, the
    syllables of the fixed grid."""
    check_training_data(dataset)
    height, width = dataset.size
    codepoints = np.unique(np.asarray(dataset.codepoints, dtype=np.int64))
    codepoints = codepoints[(codepoints >= hangul.FIRST) & (codepoints <= hangul.LAST)]
    seed16 = [cp for cp in hangul.charset_from_text(hangul.SEED_SYLLABLES) if cp in codepoints]
    if len(seed16) == len(hangul.SEED_SYLLABLES):
        chosen = seed16
    elif len(codepoints) <= grid:
        chosen = codepoints.tolist()
    else:
        picks = np.linspace(0, len(codepoints) - 1, grid).round().astype(int)
        chosen = codepoints[np.unique(picks)].tolist()
    return DataInfo(
        height=int(height),
        width=int(width),
        channels=int(dataset.channels),
        num_faces=len(dataset.face_names),
        face_names=tuple(dataset.face_names),
        grid_syllables=tuple(int(c) for c in chosen),
        syllables="".join(chr(int(c)) for c in codepoints),
        batch_keys=tuple(dataset.batch_keys),
        ink=bool(dataset.ink),
        placement=dict(getattr(dataset, "placement", {})),
    )


def _not_a_run(run_dir: Path) -> str | None:
    """Why ``run_dir`` is not a run folder hangulgan wrote, or None when it is one: its
    config.json names the run format (of any version: --force may replace an old run)."""
    try:
        config = json.loads((run_dir / CONFIG_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"no {CONFIG_FILE}"
    except (OSError, ValueError):
        config = None
    if not isinstance(config, dict) or config.get("format") != RUN_FORMAT:
        return f"its {CONFIG_FILE} is not a run's"
    return None


def _run_entries(run_dir: Path) -> list[str]:
    """The run entries ``run_dir`` holds; RunError when it holds some but is not a run."""
    present = [name for name in _RUN_ENTRIES if (run_dir / name).exists()]
    why = _not_a_run(run_dir) if present else None
    if why:
        # --force replaces a run, never a folder that merely holds files of a run's names
        raise RunError(
            f"{run_dir}: not a hangulgan run ({why}) but holds {', '.join(present)}; "
            "train into a new or empty folder"
        )
    return present


def prepare_run_dir(run_dir: Path, model_name: str, resume: bool, force: bool) -> None:
    """Check (and with ``force`` clear) a run folder before training into it."""
    if resume:
        RunConfig.load(run_dir, model=model_name)
        return
    if run_dir.exists() and not run_dir.is_dir():
        raise RunError(f"{run_dir}: exists and is not a folder")
    present = _run_entries(run_dir)
    if present and not force:
        step = ckpt.list_checkpoints(run_dir)
        where = f" at step {step[-1][0]}" if step else ""
        raise RunError(
            f"{run_dir}: holds a run already{where}; continue it with --resume "
            "or replace it with --force"
        )
    for name in present:
        target = run_dir / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()
    run_dir.mkdir(parents=True, exist_ok=True)


def build_model(
    model_name: str, model_config: ModelConfig | dict[str, Any], info: DataInfo
) -> Model:
    """Instantiate a registered model from its config (a dataclass, or a dict as saved in a
    run's config.json: types are checked, missing fields get the legacy defaults)."""
    cls = get_model_class(model_name)
    if isinstance(model_config, dict):
        values = cls.config_class.legacy_defaults() | model_config
        model_config = from_dict(cls.config_class, values, where="model_config")
    model_config.validate()
    return cls(model_config, info)


def warn(message: str) -> None:
    """A one-line note to the user on stderr (the library's only chatter)."""
    print(f"hangulgan: {message}", file=sys.stderr, flush=True)


def _restore_newest(trainer: Trainer, run_path: Path) -> None:
    """Restore the newest checkpoint that loads: a damaged one is reported and the one kept
    before it is used. CheckpointError when none loads (never a silent fresh start)."""
    found = ckpt.list_checkpoints(run_path)
    if not found:
        raise CheckpointError(
            f"{run_path}: has no checkpoint to resume from; start it anew with --force"
        )
    candidates = [path for _step, path in reversed(found)]
    for position, path in enumerate(candidates):
        try:
            trainer.restore(path)
            return
        except CheckpointError as err:
            if position + 1 == len(candidates):
                raise
            if trainer.ctx.is_main:
                warn(f"{err}; resuming from the checkpoint before it, {candidates[position + 1]}")


def train(
    model_name: str,
    model_config: ModelConfig | dict[str, Any],
    config: TrainConfig,
    dataset: TrainingData,
    run_dir: str | Path | None,
    *,
    data: Any = None,
    resume: bool = False,
    force: bool = False,
    callbacks: list[StepCallback] | None = None,
) -> TrainResult:
    """Train ``model_name`` on ``dataset`` into ``run_dir`` (None: write nothing).

    With ``resume`` the run continues from its newest checkpoint that loads (the saved
    model config and data selection should be passed back in; :func:`resume_config` reads
    them, :func:`hangulgan.train.config.merge_resume` merges new trainer options), in the
    precision it recorded unless ``config.amp`` asks for one. Under torchrun each process
    calls this; they agree on everything but their data slice and their noise.
    """
    config.validate()
    device = resolve_device(config.device)
    if config.amp == "bf16" and device.type not in ("cuda", "cpu"):
        raise ConfigError(f"--amp bf16: no bf16 autocast on {device.type}")
    if config.tensorboard:
        _tensorboard_class()  # fail before the run folder is touched
    if config.threads:
        torch.set_num_threads(config.threads)
    if device.type == "cpu":
        reuse_freed_memory()
    ctx = init_distributed(device.type)
    run_path = Path(run_dir) if run_dir is not None else None
    lock = contextlib.ExitStack()  # rank 0 holds the run folder's lock until the end
    try:
        if ctx.distributed and device.type == "cuda":
            device = torch.device("cuda", ctx.local_rank)
            torch.cuda.set_device(device)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        problem: HangulganError | None = None
        saved: RunConfig | None = None
        if ctx.is_main and run_path is not None:
            try:
                if run_path.exists() and not run_path.is_dir():
                    raise RunError(f"{run_path}: exists and is not a folder")
                if resume:
                    RunConfig.load(run_path, model=model_name)  # never creates a folder
                elif run_path.is_dir():
                    _run_entries(run_path)  # a user's folder is refused before the lock file
                # one writer per run folder: a second `train` gets LockedError naming us
                lock.enter_context(folder_lock(run_path, what="run"))
                prepare_run_dir(run_path, model_name, resume, force)
                if resume:
                    saved = RunConfig.load(run_path, model=model_name)
                ckpt.remove_stale_temporaries(run_path)
            except HangulganError as err:
                problem = err
        if any_rank(problem is not None, ctx, device):  # every rank stops, not only rank 0
            raise problem or RunError(f"{run_path}: rank 0 could not prepare the run folder")
        precision = resolve_precision(config.amp, device)
        if saved is not None and saved.precision and saved.precision != precision:
            if config.amp == "auto":
                if ctx.is_main:
                    warn(
                        f"{run_path}: keeps the precision it recorded ({saved.precision}; "
                        f"this machine would choose {precision}); --amp changes it"
                    )
                precision = saved.precision
            elif ctx.is_main:
                warn(f"{run_path}: switching from {saved.precision} to {precision} (--amp)")
        seed_everything(config.seed)  # the same on every rank: identical initial weights
        info = data_info(dataset, config.grid)
        model = build_model(model_name, model_config, info).to(device)
        if ctx.distributed:
            model.runtime = DistributedRuntime(ctx)
            broadcast_modules(list(model.networks.values()))
        if ctx.is_main and run_path is not None and not resume:
            RunConfig(
                model=model_name,
                model_config=model.config.to_dict(),
                train=config,
                data=data if data is not None else type(model).data_config()(),
                data_info=info.to_dict(),
                world_size=ctx.world_size,
                precision=precision,
            ).save(run_path)
        trainer = Trainer(
            model, dataset, config, run_path, ctx=ctx, callbacks=callbacks, precision=precision
        )
        if resume and run_path is not None:
            _restore_newest(trainer, run_path)
            if trainer.step >= trainer.total_steps:
                barrier(ctx)
                return TrainResult(
                    run_dir=run_path,
                    start_step=trainer.step,
                    step=trainer.step,
                    total_steps=trainer.total_steps,
                    nothing_to_do=True,
                    rank=ctx.rank,
                )
            if ctx.is_main and saved is not None:
                saved.train = config
                saved.precision = precision
                saved.save(run_path)
        return trainer.fit()
    finally:
        lock.close()
        shutdown_distributed(ctx)


def resume_config(run_dir: str | Path) -> RunConfig:
    """The saved config of a run, to continue it (RunError when it is no run)."""
    return RunConfig.load(run_dir)
