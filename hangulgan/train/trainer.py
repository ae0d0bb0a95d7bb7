"""Training a model: :func:`new_model` builds it, :func:`train` sets up a run around it
and hands it to the loop.

The set-up, in order: the device and its precision (:mod:`hangulgan.train.device`), the
distributed group (:mod:`hangulgan.train.dist`), CPU tuning for the run
(:mod:`hangulgan.train.cpu`), the run folder (:mod:`hangulgan.train.rundir`, locked by
rank 0), the model on its device, and on ``--resume`` the newest checkpoint that loads;
then :class:`~hangulgan.train.loop.Trainer` runs the steps.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hangulgan import hangul
from hangulgan.errors import CheckpointError, ConfigError, HangulganError, RunError
from hangulgan.io import folder_lock
from hangulgan.train import checkpoint as ckpt
from hangulgan.train.config import RunConfig, TrainConfig
from hangulgan.train.contract import DataInfo, Model, TrainingData
from hangulgan.train.cpu import deterministic_kernels, malloc_reuse
from hangulgan.train.device import (
    out_of_memory_as_error,
    resolve_device,
    resolve_precision,
    seed_everything,
)
from hangulgan.train.dist import (
    DistributedRuntime,
    any_rank,
    barrier,
    broadcast_modules,
    init_distributed,
    shutdown_distributed,
)
from hangulgan.train.logs import tensorboard_class, warn
from hangulgan.train.loop import (
    StepCallback,
    Trainer,
    TrainResult,
    check_training_data,
    describe_sizes,
)
from hangulgan.train.options import ModelConfig, from_dict, resolve_paths
from hangulgan.train.registry import get_model_class
from hangulgan.train.rundir import prepare_run_dir, run_entries


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


def build_model(
    model: str | type[Model], model_config: ModelConfig | dict[str, Any], info: DataInfo
) -> Model:
    """Instantiate a model (a class, or a registered model's name) from its config (a
    dataclass, or a dict as saved in a run's config.json: types are checked, missing fields
    get the legacy defaults)."""
    cls = get_model_class(model) if isinstance(model, str) else model
    if isinstance(model_config, dict):
        values = cls.config_class.legacy_defaults() | model_config
        model_config = from_dict(cls.config_class, values, where="model_config")
    model_config.validate()
    return cls(model_config, info)


def new_model(
    model: str | type[Model],
    model_config: ModelConfig | dict[str, Any],
    dataset: TrainingData,
    config: TrainConfig,
) -> Model:
    """The model :func:`train` is given to train ``dataset`` under ``config``: ``model`` (a
    class or a registered model's name) built from ``model_config`` for the dataset's
    :func:`data_info`, its weights drawn after seeding everything with ``config.seed`` (so
    every process of a distributed run starts from the same weights, and a run from the
    same ones as any other run with that seed)."""
    config.validate()
    info = data_info(dataset, config.grid)
    seed_everything(config.seed)
    cls = get_model_class(model) if isinstance(model, str) else model
    name = getattr(cls, "name", cls.__name__)

    def sizes() -> str:
        values = model_config if isinstance(model_config, dict) else model_config.to_dict()
        numbers = [f"{k} {v}" for k, v in values.items() if type(v) is int]
        return f"building {name} for {info.height}×{info.width} images ({', '.join(numbers)})"

    with out_of_memory_as_error(sizes):
        return build_model(cls, model_config, info)


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
    model: Model,
    config: TrainConfig,
    dataset: TrainingData,
    run_dir: str | Path | None,
    *,
    data: Any = None,
    resume: bool = False,
    saved: RunConfig | None = None,
    force: bool = False,
    callbacks: list[StepCallback] | None = None,
    cpu_malloc: bool = True,
) -> TrainResult:
    """Train ``model`` on ``dataset`` into ``run_dir`` (None: write nothing); the result
    holds the trained model (``result.model``, the same object).

    Build the model with :func:`new_model` (seeded, for the dataset's :func:`data_info`);
    ``data`` is the data config recorded in the run. With ``resume`` the run continues
    from its newest checkpoint that loads (the model should be built from the saved model
    config and the data from the saved selection; :func:`resume_config` reads them,
    :func:`hangulgan.train.config.merge_resume` merges new trainer options), in the
    precision it recorded unless ``config.amp`` asks for one; ``saved`` is the run's
    config as the caller read it (else it is read here: once either way). Under torchrun
    each process calls this; they agree on everything but their data slice and their noise.

    On CPU, ``cpu_malloc`` has glibc's malloc reuse freed memory while the run lasts
    (:func:`~hangulgan.train.cpu.malloc_reuse`: measured faster), its stock settings back
    when ``train`` returns; and torch's deterministic kernels are on while the run lasts
    (:func:`~hangulgan.train.cpu.deterministic_kernels`), so that one seed gives one result
    whatever the thread count's summing order.
    """
    config.validate()
    device = resolve_device(config.device)
    if config.amp == "bf16" and device.type not in ("cuda", "cpu"):
        raise ConfigError(f"--amp bf16: no bf16 autocast on {device.type}")
    if config.tensorboard:
        tensorboard_class()  # fail before the run folder is touched
    if config.threads:
        torch.set_num_threads(config.threads)
    ctx = init_distributed(device.type)
    run_path = Path(run_dir) if run_dir is not None else None
    # undone when train returns: the CPU malloc setting, rank 0's lock of the run folder
    scope = contextlib.ExitStack()
    try:
        if device.type == "cpu":
            scope.enter_context(malloc_reuse(cpu_malloc))
            scope.enter_context(deterministic_kernels())  # one seed, one result
        if ctx.distributed and device.type == "cuda":
            device = torch.device("cuda", ctx.local_rank)
            torch.cuda.set_device(device)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        problem: HangulganError | None = None
        saved = saved if resume else None
        if ctx.is_main and run_path is not None:
            try:
                if run_path.exists() and not run_path.is_dir():
                    raise RunError(f"{run_path}: exists and is not a folder")
                if resume:  # read before the lock file, which would create a folder
                    saved = saved or RunConfig.load(run_path, model=model.name)
                    if saved.model != model.name:
                        raise RunError(
                            f"{run_path}: holds a {saved.model!r} run, not {model.name!r}"
                        )
                elif run_path.is_dir():
                    run_entries(run_path)  # a user's folder is refused before the lock file
                # one writer per run folder: a second `train` gets LockedError naming us
                scope.enter_context(folder_lock(run_path, what="run"))
                if not resume:
                    prepare_run_dir(run_path, force)
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
        with out_of_memory_as_error(lambda: f"placing {describe_sizes(model, config.batch)}"):
            model.to(device)
        if ctx.distributed:
            model.runtime = DistributedRuntime(ctx)
            broadcast_modules(list(model.networks.values()))
        if ctx.is_main and run_path is not None and not resume:
            RunConfig(
                model=model.name,
                model_config=model.config.to_dict(),
                train=config,
                # paths stored absolute: a resume from another folder finds the corpus
                data=resolve_paths(data if data is not None else type(model).data_config()()),
                data_info=model.info.to_dict(),
                world_size=ctx.world_size,
                precision=precision,
            ).save(run_path)
        with out_of_memory_as_error(lambda: f"setting up {describe_sizes(model, config.batch)}"):
            trainer = Trainer(  # builds the optimizers and the EMA copies
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
                    model=model,
                )
            if ctx.is_main and saved is not None:
                saved.train = config
                saved.precision = precision
                saved.save(run_path)
        return trainer.fit()
    finally:
        scope.close()
        shutdown_distributed(ctx)


def resume_config(run_dir: str | Path) -> RunConfig:
    """The saved config of a run, to continue it (RunError when it is no run)."""
    return RunConfig.load(run_dir)
