"""The one training loop of hangulgan, shared by every model: :class:`Trainer`.

:func:`hangulgan.train.trainer.train` sets up a run (device, seeds, run folder, model,
distributed group) and a :class:`Trainer` runs it. A model
(:class:`hangulgan.train.contract.Model`) supplies networks, optimizers and a step; the
trainer owns everything else:

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

import copy
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from hangulgan.errors import CheckpointError, ConfigError
from hangulgan.train import checkpoint as ckpt
from hangulgan.train.checkpoint_checks import check_fits
from hangulgan.train.config import TrainConfig
from hangulgan.train.contract import Model, TrainingData
from hangulgan.train.device import mix_seed, out_of_memory_as_error, resolve_precision
from hangulgan.train.dist import DistContext, any_rank, barrier
from hangulgan.train.ema import EMA
from hangulgan.train.grid import save_panels
from hangulgan.train.logs import MetricsLog, open_tensorboard
from hangulgan.train.rundir import METRICS_FILE, SAMPLES_DIR, TENSORBOARD_DIR
from hangulgan.train.sampler import EpochSampler, PlannedBatches, StepPlan, batch_seed, fixed_batch
from hangulgan.train.signals import StopRequest

StepCallback = Callable[["Trainer", int, dict[str, torch.Tensor]], None]


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
    model: Model | None = None  # the model trained (the one given to train)


def describe_sizes(model: Model, batch: int) -> str:
    """``model`` with the sizes that decide its memory: "dcgan at 32×32, batch 256
    (latent_dim 100, jamo_dim 16, ...)" (the whole-number options of its config)."""
    numbers = [
        f"{key} {value}"
        for key, value in model.config.to_dict().items()
        if isinstance(value, int) and not isinstance(value, bool)
    ]
    info = model.info
    where = f"{model.name} at {info.height}×{info.width}, batch {batch}"
    return f"{where} ({', '.join(numbers)})" if numbers else where


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
        return batch_seed(self.config.seed, self.ctx.rank, step)

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
        plan = StepPlan(
            copy.deepcopy(self.sampler),
            self.step,
            self.total_steps,
            self.config.seed,
            self.ctx.rank,
        )
        loader = torch.utils.data.DataLoader(
            PlannedBatches(self.dataset),
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
        position, RNG. Every tensor and value is checked (against its range and against the
        model) before any is loaded, so a refused checkpoint leaves the model as it was."""
        checkpoint = ckpt.read_checkpoint(path)
        if checkpoint.model != self.model.name:
            raise CheckpointError(
                f"{checkpoint.path}: holds a {checkpoint.model!r} model, not {self.model.name!r}"
            )
        ema = self.ema.copies if (self.ema is not None and checkpoint.state.get("ema")) else {}
        schedulers = self.model.schedulers
        check_fits(checkpoint, self.model.networks, self.model.optimizers, ema, schedulers)
        extra = checkpoint.state.get("extra", {})
        if "sampler" not in extra:  # resuming without it would restart the data order
            raise CheckpointError(
                f"{checkpoint.path}: damaged checkpoint metadata (no data position)"
            )
        self.sampler.checked_state(extra["sampler"], checkpoint.path)
        ckpt.load_networks(checkpoint, self.model.networks)
        ckpt.load_optimizers(checkpoint, self.model.optimizers)
        ckpt.load_schedulers(checkpoint, schedulers)
        if self.ema is not None:
            if ema:
                ckpt.load_networks(checkpoint, self.ema.copies, prefix="ema")
            else:  # EMA switched on for a run that had none: start it from the live weights
                for name, net in self.ema.copies.items():
                    net.load_state_dict(self.model.networks[name].state_dict())
        self.model.load_extra_state(ckpt.model_state(checkpoint))
        self.sampler.load_state(extra["sampler"], checkpoint.path)
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
    def sizes(self) -> str:
        """The sizes that decide the memory a step takes, for an out-of-memory error."""
        return describe_sizes(self.model, self.config.batch)

    def fit(self) -> TrainResult:
        """Train from the current step to ``total_steps``; returns what happened.

        An allocation failure in a step is a ConfigError naming the sizes; a checkpoint
        that would hold non-finite values is not written
        (:class:`~hangulgan.train.checkpoint.DivergedError`); the logs are closed either way.
        """
        metrics = tb = None
        try:
            if self.writes:
                metrics = MetricsLog(self.run_dir / METRICS_FILE, self._resumed_from)
                if self.config.tensorboard:
                    tb = open_tensorboard(self.run_dir / TENSORBOARD_DIR)
            return self._run(metrics, tb)
        finally:
            if metrics is not None:
                metrics.close()
            if tb is not None:
                tb.close()

    def _run(self, metrics: MetricsLog | None, tb: Any) -> TrainResult:
        cfg = self.config
        start = self.step
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
        stopper = StopRequest()
        self.model.train(True)
        batches = self._batches()  # a generator: nothing is read before the first step
        try:
            with stopper, out_of_memory_as_error(lambda: f"training {self.sizes()}"):
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
            model=self.model,
        )
