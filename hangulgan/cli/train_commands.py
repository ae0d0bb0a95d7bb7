"""Training-stage commands: ``train MODEL``, ``sample``, ``runs list``.

``hangulgan train MODEL`` is generated for every registered glyph model
(:mod:`hangulgan.train.registry`) from three dataclasses: the model's config
(``Model.config_class``), its data config (``Model.data_config()``, the corpus selection
for glyph models) and the trainer's :class:`~hangulgan.train.config.TrainConfig`. Each
field becomes an option whose type, default and help come from the field
(:func:`hangulgan.train.options.option`); registering a model is all it takes to appear here.
The registry names those dataclasses in modules that import no torch, so ``--help`` is
built without loading the model.
Each command only turns options into config dataclasses and calls the library; errors
become one line and a non-zero exit code.
"""

from __future__ import annotations

import signal
import sys
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from hangulgan.errors import ConfigError
from hangulgan.train.config import RunConfig, TrainConfig, merge_resume, read_toml
from hangulgan.train.options import compose, field_type, option_flag
from hangulgan.train.registry import GLYPH, MODELS, ModelEntry, model_entry, model_names

_SECTIONS = ("model", "data", "train")
_RESERVED = {"--run", "--config", "--resume", "--force", "--cpu-malloc", "--help", "-h"}


def _given(ctx: click.Context, name: str) -> bool:
    """True when the user set option ``name`` (on the command line or through the env)."""
    return ctx.get_parameter_source(name) in (
        ParameterSource.COMMANDLINE,
        ParameterSource.ENVIRONMENT,
    )


def _split_list(values: tuple[str, ...]) -> list[str] | None:
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    return names or None


def dataclass_options(cls: type, section: str) -> list[click.Option]:
    """One click option per field of dataclass ``cls`` (see the module docstring)."""
    options = []
    for f in fields(cls):
        meta = f.metadata
        base, _optional, is_list = field_type(cls, f.name)
        flag = option_flag(cls, f.name)
        param = f"{section}__{f.name}"
        default = f.default if f.default is not MISSING else None
        kwargs: dict[str, Any] = {"help": meta.get("help") or f.name.replace("_", " ")}
        if base is bool and not is_list:
            decls = [f"{flag}/--no-{flag[2:]}", param]
            kwargs |= {"default": default, "show_default": True}
        else:
            decls = [flag, param]
            if meta.get("choices"):
                kwargs["type"] = click.Choice(list(meta["choices"]))
            elif base in (int, float, str):
                kwargs["type"] = base
            if is_list or meta.get("multiple"):
                kwargs["multiple"] = True
            else:
                kwargs |= {"default": default, "show_default": default is not None}
        options.append(click.Option(decls, **kwargs))
    return options


def _collect(ctx: click.Context, params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The options the user gave, by section and field."""
    given: dict[str, dict[str, Any]] = {section: {} for section in _SECTIONS}
    for param, value in params.items():
        section, _, name = param.partition("__")
        if section in given and _given(ctx, param):
            given[section][name] = _split_list(value) if isinstance(value, tuple) else value
    return given


def build_train_command(model: ModelEntry | type) -> click.Command:
    """``hangulgan train NAME`` for a model's registry entry (or a model class); the model
    class itself is imported only when the command runs."""
    entry = model if isinstance(model, ModelEntry) else ModelEntry.of_class(model)
    sections = [
        (entry.data_config_class, "data"),
        (TrainConfig, "train"),
        (entry.config_class, "model"),
    ]
    params: list[click.Parameter] = [
        click.Option(
            ["--run", "run_dir"],
            required=True,
            type=click.Path(path_type=Path),
            help=f"Run folder to create (or continue with --resume), e.g. runs/{entry.name}.",
        )
    ]
    seen = set(_RESERVED)
    for cls, section in sections:
        for option in dataclass_options(cls, section):
            flags = {o.split("/")[0] for o in option.opts} | set(option.secondary_opts)
            clash = flags & seen
            if clash:
                raise RuntimeError(
                    f"{entry.name}: option {', '.join(sorted(clash))} is declared twice"
                )
            seen |= flags
            params.append(option)
    params += [
        click.Option(
            ["--config", "config_file"],
            type=click.Path(path_type=Path),
            help="TOML file with [model], [train], [data] tables; options given override it.",
        ),
        click.Option(
            ["--resume"],
            is_flag=True,
            help="Continue RUN from its newest checkpoint with its saved config (only "
            "--steps/--epochs, logging and device options may change).",
        ),
        click.Option(["--force"], is_flag=True, help="Replace an existing run in RUN."),
        click.Option(
            ["--cpu-malloc/--no-cpu-malloc"],
            default=True,
            show_default=True,
            help="On CPU, have glibc's malloc reuse the memory a step freed for the next "
            "(the DCGAN's float32 step: 218 against 194 img/s); the process keeps its peak "
            "memory while training, and glibc's stock settings come back when it ends.",
        ),
    ]

    @click.pass_context
    def command(
        ctx: click.Context,
        run_dir: Path,
        config_file: Path | None,
        resume: bool,
        force: bool,
        cpu_malloc: bool,
        **values: Any,
    ) -> None:
        from hangulgan.train.trainer import new_model, train

        model_cls = entry.model_class
        given = _collect(ctx, values)
        if resume and force:
            raise ConfigError("give --resume or --force, not both")
        data_cls = model_cls.data_config()
        saved = None
        if resume:  # the run's config.json, read once (train is handed it)
            saved = RunConfig.load(run_dir, model=model_cls.name)
            merged = merge_resume(
                saved,
                model_cls,
                train=given["train"],
                model=given["model"],
                data=given["data"],
                config_file=config_file is not None,
            )
            config, data = merged.train, merged.data
            model_config = saved.model_settings(model_cls)
            saved = merged
        else:
            tables = read_toml(config_file) if config_file else {}
            source = f"{config_file}: " if config_file else ""
            config = compose(TrainConfig, tables.get("train"), given["train"], f"{source}[train]")
            data = compose(data_cls, tables.get("data"), given["data"], f"{source}[data]")
            model_config = compose(
                model_cls.config_class, tables.get("model"), given["model"], f"{source}[model]"
            )
        config.validate()
        model_config.validate()
        dataset = model_cls.make_dataset(data, model_config)
        model = new_model(model_cls, model_config, dataset, config)
        result = train(
            model,
            config,
            dataset,
            run_dir,
            data=data,
            resume=resume,
            saved=saved,
            force=force,
            cpu_malloc=cpu_malloc,
        )
        _echo_result(result)

    help_text = entry.help
    return click.Command(
        entry.name,
        callback=command,
        params=params,
        help=help_text,
        short_help=help_text.split("\n")[0].split(" (")[0][:80],
    )


class _ModelGroup(click.Group):
    """``train``'s subcommands: one per registered glyph model, built when asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        # the translation models are listed under `hangulgan translate train`
        return model_names(GLYPH)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return build_train_command(model_entry(name)) if name in MODELS else None


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
    if result.nothing_to_do:
        click.echo(
            f"nothing to do: {result.run_dir} is at step {result.step} and the run lasts "
            f"{result.total_steps} steps; give --steps (or --epochs) beyond {result.step} "
            "to train further"
        )
        return
    losses = "  ".join(f"{k} {v:.4f}" for k, v in result.losses.items())
    click.echo(
        f"trained steps {result.start_step}→{result.step} in {result.seconds:.1f} s "
        f"({result.images_per_second:.0f} img/s){'  ' + losses if losses else ''}"
    )
    if result.checkpoint:
        click.echo(f"checkpoint: {result.checkpoint}")
    if result.grid:
        click.echo(f"samples:    {result.grid}")


@click.group("train", cls=_ModelGroup)
def train_group() -> None:
    """Train a model (one subcommand per registered model; options come from its config).

    Every model runs in the same trainer: checkpoints (safetensors) in RUN/checkpoints,
    sample grids in RUN/samples, losses in RUN/metrics.csv. Ctrl-C or SIGTERM finishes the
    current step, saves a checkpoint and exits (code 130/143); --resume continues exactly
    where it stopped.

    \b
    Several processes (DDP; the -- keeps torchrun from reading --run as its own option):
      torchrun --nproc-per-node 2 -- $(which hangulgan) train dcgan --corpus c/ --run r/
    """


@click.command("sample")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), help="Write a grid PNG here.")
@click.option(
    "--out-set",
    type=click.Path(path_type=Path),
    help="Write a glyph set folder here (conditional models): one glyph per syllable "
    "of --text/--charset (default: the training charset), all from one noise vector.",
)
@click.option("--n", type=int, help="Images in the grid (default: the --text typed, else 64).")
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
@click.option(
    "--force",
    is_flag=True,
    help="Replace a grid (--out) or the glyph set in an --out-set folder that sample wrote "
    "before (other files there stay); nothing else is ever replaced.",
)
def sample_command(
    run_dir: Path,
    out: Path | None,
    out_set: Path | None,
    n: int | None,
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
    from hangulgan.cli.outputs import check_png_out
    from hangulgan.train.runs import write_glyphset, write_grid

    if not out and not out_set:
        raise ConfigError("give --out GRID.png and/or --out-set FOLDER")
    RunConfig.load(run_dir)  # the input first: an output clash must not hide a wrong RUN
    if out:
        check_png_out(out, force)
    if out_set:
        _check_sample_set_out(out_set, force)
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


# what `sample --out-set` records as its glyph set's meta.source (hangulgan.train.runs)
SAMPLE_SOURCE = "hangulgan sample"


def _check_sample_set_out(folder: Path, force: bool) -> None:
    """ConfigError unless ``sample`` may write its glyph set into ``folder``: a new folder,
    or with ``force`` one whose glyph set (if it holds one) sample wrote."""
    from hangulgan.cli.outputs import glyphset_meta
    from hangulgan.train.runs import GLYPHSET_FILES

    if not folder.exists():
        return
    if not folder.is_dir():
        raise ConfigError(f"{folder}: exists and is not a folder")
    if not force:
        raise ConfigError(f"{folder}: already exists (replace it with --force)")
    held = [name for name in GLYPHSET_FILES if (folder / name).exists()]
    if held and (glyphset_meta(folder) or {}).get("source") != SAMPLE_SOURCE:
        raise ConfigError(
            f"{folder}: not a glyph set sample wrote (holds {', '.join(held)}); --force "
            "replaces only sample's own glyph set, never other files"
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
        produces = ",".join(item.produces) or "-"
        click.echo(
            f"{item.path}  {item.model}  step {item.step}  {item.precision or '-'}  "
            f"{losses or '-'}  {sample}  [{produces}]"
        )
