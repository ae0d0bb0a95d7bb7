"""Training-stage commands: ``train dcgan``, ``sample``, ``runs list``.

Each command only turns options into config dataclasses and calls the library
(:mod:`hangulgan.train`); errors become one line and a non-zero exit code.
"""

from __future__ import annotations

import signal
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from hangulgan.errors import ConfigError
from hangulgan.models import DCGANConfig
from hangulgan.train.config import DataConfig, RunConfig, TrainConfig, from_dict, read_toml

# option name → (config section, field name)
_TRAIN_OPTIONS = {
    "steps": "steps",
    "epochs": "epochs",
    "batch": "batch",
    "seed": "seed",
    "device": "device",
    "amp": "amp",
    "threads": "threads",
    "log_every": "log_every",
    "sample_every": "sample_every",
    "checkpoint_every": "checkpoint_every",
    "keep_checkpoints": "keep_checkpoints",
    "ema": "ema",
    "ema_decay": "ema_decay",
    "grid": "grid",
    "tensorboard": "tensorboard",
    "progress": "progress",
}
_DATA_OPTIONS = {
    "corpus": "corpus",
    "faces": "faces",
    "charset": "charset",
    "augmented": "augmented",
}
_DCGAN_OPTIONS = {
    "latent": "latent_dim",
    "conditional": "conditional",
    "loss": "loss",
    "spectral_norm": "spectral_norm",
    "lr": "lr",
    "channels_last": "channels_last",
}
# options a resumed run may change (the schedule, logging and where it runs)
_RESUMABLE = {
    "steps",
    "epochs",
    "device",
    "amp",
    "threads",
    "log_every",
    "sample_every",
    "checkpoint_every",
    "keep_checkpoints",
    "tensorboard",
    "progress",
}


def _given(ctx: click.Context, name: str) -> bool:
    """True when the user set option ``name`` (on the command line or through the env)."""
    return ctx.get_parameter_source(name) in (
        ParameterSource.COMMANDLINE,
        ParameterSource.ENVIRONMENT,
    )


def _faces(values: tuple[str, ...]) -> list[str] | None:
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    return names or None


def _section(cls: type, base: dict[str, Any], ctx: click.Context, mapping: dict[str, str]) -> Any:
    """Defaults ← TOML table ``base`` ← options the user gave, as dataclass ``cls``."""
    values = dict(base)
    for option, name in mapping.items():
        if _given(ctx, option) or name not in values:
            value = ctx.params[option]
            values[name] = _faces(value) if option == "faces" else value
    return from_dict(cls, values)


def _echo_result(result: Any) -> None:
    if result.rank != 0:  # under torchrun only rank 0 reports
        if result.interrupted:
            sys.exit(130 if result.signal in (None, signal.SIGINT) else 143)
        return
    if result.interrupted:
        name = signal.Signals(result.signal).name if result.signal else "a stop request"
        click.echo(
            f"stopped by {name} at step {result.step}/{result.total_steps}; checkpoint "
            f"{result.checkpoint}; continue with --resume",
            err=True,
        )
        sys.exit(130 if result.signal in (None, signal.SIGINT) else 143)
    losses = "  ".join(f"{k} {v:.4f}" for k, v in result.losses.items())
    click.echo(
        f"trained steps {result.start_step}→{result.step} in {result.seconds:.1f} s "
        f"({result.images_per_second:.0f} img/s){'  ' + losses if losses else ''}"
    )
    if result.checkpoint:
        click.echo(f"checkpoint: {result.checkpoint}")
    if result.grid:
        click.echo(f"samples:    {result.grid}")


@click.group("train")
def train_group() -> None:
    """Train a glyph generator on a corpus (one subcommand per model).

    Every model runs in the same trainer: checkpoints (safetensors) in RUN/checkpoints,
    fixed-noise sample grids in RUN/samples, losses in RUN/metrics.csv. Ctrl-C or
    SIGTERM finishes the current step, saves a checkpoint and exits (code 130/143);
    --resume continues exactly where it stopped.

    \b
    Several processes (DDP; the -- keeps torchrun from reading --run as its own option):
      torchrun --nproc-per-node 2 -- $(which hangulgan) train dcgan --corpus c/ --run r/
    """


@train_group.command("dcgan")
@click.option(
    "--corpus", type=click.Path(path_type=Path), help="Corpus folder from `hangulgan render`."
)
@click.option(
    "--run",
    "run_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Run folder to create (or continue with --resume), e.g. runs/dcgan.",
)
@click.option(
    "--faces",
    multiple=True,
    help="Train on these faces only (repeat, or comma-separate). Default: all.",
)
@click.option(
    "--charset",
    default="all",
    show_default=True,
    help="Syllables to train on: all, ksx1001, seed16 (the seeds' 16), or a text file.",
)
@click.option("--augmented", is_flag=True, help="Also train on the corpus' augmented copies.")
@click.option("--steps", type=int, help="Optimisation steps (default 5000 when no --epochs).")
@click.option("--epochs", type=float, help="Passes over the selected glyphs instead of --steps.")
@click.option("--batch", default=256, show_default=True, help="Global batch size.")
@click.option("--seed", default=0, show_default=True, help="Seed of weights, noise and data order.")
@click.option(
    "--conditional",
    is_flag=True,
    help="Condition on the syllable (jamo embeddings in G; projection and a jamo "
    "classifier in D), so "
    "`sample --text` and `--out-set` can ask for given syllables.",
)
@click.option("--latent", default=100, show_default=True, help="Size of the noise vector z.")
@click.option(
    "--loss",
    type=click.Choice(["bce", "hinge"]),
    default="bce",
    show_default=True,
    help="bce: the seeds' non-saturating loss; hinge: hinge loss.",
)
@click.option("--spectral-norm", is_flag=True, help="Spectral norm on D's layers.")
@click.option("--lr", default=1e-4, show_default=True, help="Adam learning rate of G and D.")
@click.option(
    "--channels-last/--no-channels-last",
    default=True,
    show_default=True,
    help="NHWC memory layout (faster on CPU).",
)
@click.option(
    "--ema/--no-ema",
    default=False,
    show_default=True,
    help="Keep an exponential moving average of G; samples use it.",
)
@click.option("--ema-decay", default=0.999, show_default=True, help="EMA decay per step.")
@click.option(
    "--sample-every",
    default=500,
    show_default=True,
    help="Steps between sample grids (0: only at the end).",
)
@click.option(
    "--checkpoint-every",
    default=1000,
    show_default=True,
    help="Steps between checkpoints (0: only at the end and on Ctrl-C).",
)
@click.option("--keep-checkpoints", default=2, show_default=True, help="Checkpoints kept.")
@click.option(
    "--log-every",
    default=50,
    show_default=True,
    help="Steps between rows of metrics.csv (means over the interval).",
)
@click.option("--grid", default=64, show_default=True, help="Glyphs in each sample grid.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option(
    "--amp",
    type=click.Choice(["auto", "off", "bf16"]),
    default="auto",
    show_default=True,
    help="Mixed precision: auto = bf16 autocast where the device runs bf16 natively (CUDA, "
    "CPUs with AVX512-BF16 or AMX), else float32; off = always float32.",
)
@click.option(
    "--threads", default=0, show_default=True, help="torch CPU threads (0: one per core)."
)
@click.option(
    "--tensorboard", is_flag=True, help="Also log to RUN/tensorboard (needs tensorboard)."
)
@click.option("--progress/--no-progress", default=True, help="Show the progress bar.")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    help="TOML file with [model], [train], [data] tables; options given override it.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue RUN from its newest checkpoint with its saved config "
    "(only --steps/--epochs, logging and device options may change).",
)
@click.option("--force", is_flag=True, help="Replace an existing run in RUN.")
@click.pass_context
def train_dcgan(
    ctx: click.Context, run_dir: Path, config_file: Path | None, resume: bool, force: bool, **_: Any
) -> None:
    """Train the seeds' DCGAN (at 32×32: G 9,125,825 and D 2,304,257 parameters).

    \b
    Examples:
      hangulgan train dcgan --corpus corpus/ --run runs/dcgan --steps 2000
      hangulgan train dcgan --corpus corpus/ --run runs/seed16 --charset seed16 --conditional
      hangulgan train dcgan --run runs/dcgan --resume --steps 4000
    """
    from hangulgan.train.data import open_dataset
    from hangulgan.train.trainer import train

    if resume and force:
        raise ConfigError("give --resume or --force, not both")
    if resume:
        saved = RunConfig.load(run_dir)
        if saved.model != "dcgan":
            from hangulgan.errors import RunError

            raise RunError(f"{run_dir}: holds a {saved.model!r} run, not 'dcgan'")
        fixed = [
            o
            for o in (*_DATA_OPTIONS, *_DCGAN_OPTIONS, *_TRAIN_OPTIONS)
            if _given(ctx, o) and o not in _RESUMABLE
        ]
        if fixed or config_file:
            names = ", ".join("--" + o.replace("_", "-") for o in fixed) or "--config"
            raise ConfigError(f"{run_dir}: a resumed run keeps its config; drop {names}")
        train_values = asdict(saved.train)
        for option in _RESUMABLE:
            if _given(ctx, option):
                train_values[_TRAIN_OPTIONS[option]] = ctx.params[option]
        if _given(ctx, "steps"):
            train_values["epochs"] = None
        if _given(ctx, "epochs"):
            train_values["steps"] = None
        config = from_dict(TrainConfig, train_values)
        data = saved.data
        model_config = from_dict(DCGANConfig, DCGANConfig.legacy_defaults() | saved.model_config)
    else:
        tables = read_toml(config_file) if config_file else {}
        config = _section(TrainConfig, tables.get("train", {}), ctx, _TRAIN_OPTIONS)
        data = _section(DataConfig, tables.get("data", {}), ctx, _DATA_OPTIONS)
        model_config = _section(DCGANConfig, tables.get("model", {}), ctx, _DCGAN_OPTIONS)
        if data.corpus is not None:
            data.corpus = str(data.corpus)
    config.validate()
    model_config.validate()
    dataset = open_dataset(data)
    result = train(
        "dcgan", model_config, config, dataset, run_dir, data=data, resume=resume, force=force
    )
    _echo_result(result)


@click.command("sample")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), help="Write a grid PNG here.")
@click.option(
    "--out-set",
    type=click.Path(path_type=Path),
    help="Write a glyph set folder here (conditional models): one glyph per syllable "
    "of --text/--charset (default: the training charset), all from one noise vector.",
)
@click.option("--n", default=64, show_default=True, help="Glyphs in the grid.")
@click.option("--text", help="Syllables to draw, e.g. 가나다 (conditional models).")
@click.option("--charset", help="all, ksx1001, seed16 or a text file (conditional models).")
@click.option("--seed", default=0, show_default=True, help="Seed of the noise.")
@click.option(
    "--checkpoint",
    type=click.Path(path_type=Path),
    help="A checkpoint file of the run (default: the newest).",
)
@click.option(
    "--ema/--no-ema",
    default=True,
    show_default=True,
    help="Use the EMA generator when the run kept one.",
)
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
@click.option("--force", is_flag=True, help="Replace an existing --out-set folder.")
def sample_command(
    run_dir: Path,
    out: Path | None,
    out_set: Path | None,
    n: int,
    text: str | None,
    charset: str | None,
    seed: int,
    checkpoint: Path | None,
    ema: bool,
    device: str,
    force: bool,
) -> None:
    """Draw glyphs from a trained run: a grid PNG (--out) and/or a glyph set (--out-set).

    \b
    Examples:
      hangulgan sample runs/dcgan --n 64 --out grid.png
      hangulgan sample runs/cond --text 가나다라마바사 --out grid.png
      hangulgan sample runs/cond --charset ksx1001 --out-set glyphs/
    """
    from hangulgan.train.runs import write_glyphset, write_grid

    if not out and not out_set:
        raise ConfigError("give --out GRID.png and/or --out-set FOLDER")
    if out:
        path = write_grid(
            run_dir,
            out,
            n=n,
            seed=seed,
            text=text,
            charset=charset,
            checkpoint=checkpoint,
            use_ema=ema,
            device=device,
        )
        click.echo(f"grid: {path}")
    if out_set:
        glyphs = write_glyphset(
            run_dir,
            out_set,
            text=text,
            charset=charset,
            seed=seed,
            checkpoint=checkpoint,
            use_ema=ema,
            force=force,
            device=device,
        )
        click.echo(
            f"glyph set: {out_set} ({len(glyphs)} glyphs, {glyphs.size[0]}×{glyphs.size[1]})"
        )


@click.group("runs")
def runs_group() -> None:
    """Inspect run folders."""


@runs_group.command("list")
@click.argument("runs_dir", default="runs", type=click.Path(path_type=Path))
def runs_list(runs_dir: Path) -> None:
    """List the runs in RUNS_DIR (default runs/): model, step, last losses, newest sample."""
    from hangulgan.train.runs import list_runs

    summaries = list_runs(runs_dir)
    if not summaries:
        click.echo(f"{runs_dir}: no runs")
        return
    for item in summaries:
        if item.error:
            click.echo(f"{item.path}  (unreadable: {item.error})")
            continue
        losses = " ".join(f"{k}={v:.3f}" for k, v in item.losses.items())
        sample = item.sample if item.sample else "-"
        click.echo(f"{item.path}  {item.model}  step {item.step}  {losses or '-'}  {sample}")
