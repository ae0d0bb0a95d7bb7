"""Config dataclasses of a training run, and the ``config.json`` a run folder keeps.

The CLI fills these from its options (or a TOML file); the trainer saves them with the
run and restores them on resume, so a resumed run trains exactly what it started with.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from hangulgan import __version__
from hangulgan.errors import ConfigError, RunError
from hangulgan.io import read_folder_header, write_json_atomic
from hangulgan.train.options import TYPE_WORDS, DataConfig, from_dict, option, option_flag
from hangulgan.train.registry import model_entry

RUN_FORMAT = "hangulgan.run"
RUN_VERSION = 1
CONFIG_FILE = "config.json"
DEFAULT_STEPS = 5000
# Upper bounds, checked before anything is allocated (a batch of 10**7 in a config.json ran
# torch out of memory, exit 70): far above any run that fits a machine of today.
MAX_STEP = 10**12  # steps of a run, and a checkpoint's step (1000 steps/s for 30 years)
MAX_BATCH = 65536
MAX_GRID = 4096
MAX_THREADS = 4096
MAX_EPOCHS = 10**6


@dataclass
class TrainConfig:
    """Everything the trainer (not the model) decides.

    ``steps`` and ``epochs`` are alternatives; with neither, the run lasts
    :data:`DEFAULT_STEPS` steps. ``batch`` is the global batch, split over DDP ranks.
    Intervals of 0 switch the thing off (a checkpoint and a grid are still written at the
    end).
    """

    steps: int | None = option(
        None, f"Optimisation steps (default {DEFAULT_STEPS} when no --epochs).", resumable=True
    )
    epochs: float | None = option(
        None, "Passes over the training data instead of --steps.", resumable=True
    )
    batch: int = option(256, "Global batch size (split over DDP processes).")
    seed: int = option(0, "Seed of weights, noise and data order.")
    device: str = option("auto", "auto, cpu, cuda or cuda:N.", resumable=True)
    amp: str = option(
        "auto",
        "Mixed precision: auto = bf16 autocast where the device runs bf16 natively (CUDA "
        "compute capability 8.0+, CPUs with AVX512-BF16 or AMX), else float32; off = always "
        "float32. A resumed run keeps the precision it recorded unless off or bf16 is given.",
        choices=("auto", "off", "bf16"),
        resumable=True,
    )
    threads: int = option(0, "torch CPU threads (0: one per core).", resumable=True)
    log_every: int = option(
        50, "Steps between rows of metrics.csv (means over the interval).", resumable=True
    )
    sample_every: int = option(
        500, "Steps between sample grids (0: only at the end).", resumable=True
    )
    checkpoint_every: int = option(
        1000, "Steps between checkpoints (0: only at the end and on Ctrl-C).", resumable=True
    )
    keep_checkpoints: int = option(2, "Checkpoints kept.", resumable=True)
    ema: bool = option(False, "Keep an exponential moving average of the generator(s).")
    ema_decay: float = option(0.999, "EMA decay per step.")
    grid: int = option(64, "Images in each sample grid.")
    tensorboard: bool = option(
        False, "Also log to RUN/tensorboard (needs tensorboard).", resumable=True
    )
    progress: bool = option(True, "Show the progress bar.", resumable=True)

    def validate(self) -> None:
        """Raise ConfigError for a value out of range."""
        if self.steps is not None and self.epochs is not None:
            raise ConfigError("give --steps or --epochs, not both")
        if self.steps is not None and not 0 <= self.steps <= MAX_STEP:
            raise ConfigError(f"--steps {self.steps}: must lie in 0..{MAX_STEP:,}")
        if self.epochs is not None and not 0 < self.epochs <= MAX_EPOCHS:
            raise ConfigError(f"--epochs {self.epochs}: must be positive, at most {MAX_EPOCHS:,}")
        if not 1 <= self.batch <= MAX_BATCH:
            raise ConfigError(f"--batch {self.batch}: must lie in 1..{MAX_BATCH:,}")
        for name in ("log_every", "sample_every", "checkpoint_every", "threads"):
            if getattr(self, name) < 0:
                raise ConfigError(f"--{name.replace('_', '-')} {getattr(self, name)}: must be ≥ 0")
        if self.threads > MAX_THREADS:
            raise ConfigError(f"--threads {self.threads}: must be at most {MAX_THREADS:,}")
        if self.keep_checkpoints < 1:
            raise ConfigError(f"--keep-checkpoints {self.keep_checkpoints}: must be 1 or more")
        if not 0 < self.ema_decay < 1:
            raise ConfigError(f"--ema-decay {self.ema_decay}: must lie in (0, 1)")
        if not 1 <= self.grid <= MAX_GRID:
            raise ConfigError(f"--grid {self.grid}: must lie in 1..{MAX_GRID:,}")
        if self.amp not in ("auto", "off", "bf16"):
            raise ConfigError(f"--amp {self.amp}: choose auto, off or bf16")

    def total_steps(self, dataset_size: int) -> int:
        """Steps the run lasts, from ``steps`` or ``epochs`` over ``dataset_size`` glyphs."""
        if self.steps is not None:
            return self.steps
        if self.epochs is not None:
            return max(1, -(-int(round(self.epochs * dataset_size)) // self.batch))
        return DEFAULT_STEPS


@dataclass
class RunConfig:
    """The whole description of a run, saved as ``runs/NAME/config.json``.

    ``data`` is the model's data config (:meth:`Model.data_config`; the corpus selection
    for glyph models). ``precision`` is what the training steps actually ran in
    (``float32`` or ``bf16``), decided once when the run starts and kept on resume.
    """

    model: str
    model_config: dict[str, Any]
    train: TrainConfig
    data: Any = field(default_factory=DataConfig)
    data_info: dict[str, Any] = field(default_factory=dict)
    world_size: int = 1
    precision: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form with format and version."""
        return {
            "format": RUN_FORMAT,
            "version": RUN_VERSION,
            "hangulgan": __version__,
            "model": self.model,
            "model_config": self.model_config,
            "train": asdict(self.train),
            "data": asdict(self.data),
            "data_info": self.data_info,
            "world_size": self.world_size,
            "precision": self.precision,
        }

    def save(self, run_dir: Path) -> None:
        """Write ``config.json`` atomically."""
        write_json_atomic(run_dir / CONFIG_FILE, self.to_dict())

    @classmethod
    def load(cls, run_dir: str | Path, model: str | None = None) -> RunConfig:
        """Read a run's ``config.json``.

        RunError when the folder or file is missing, malformed, of another version, lacks
        a table, holds a value of the wrong type (named with the file), or, with ``model``,
        holds a run of another model.
        """
        run_dir = Path(run_dir)
        raw = read_folder_header(
            run_dir, CONFIG_FILE, RUN_FORMAT, RUN_VERSION, RunError, "run", "run config"
        )
        path = run_dir / CONFIG_FILE
        for key, kind in (("model", str), ("model_config", dict), ("train", dict)):
            if key not in raw:
                raise RunError(f"{path}: malformed run config (no {key!r} entry)")
            if not isinstance(raw[key], kind):
                raise RunError(f"{path}: {key!r} must be a {TYPE_WORDS[kind]}")
            if key == "model" and model is not None and raw["model"] != model:
                raise RunError(f"{run_dir}: holds a {raw['model']!r} run, not {model!r}")
        for key, kind in (("data", dict), ("data_info", dict), ("precision", str)):
            if raw.get(key) is not None and not isinstance(raw[key], kind):
                raise RunError(f"{path}: {key!r} must be a {TYPE_WORDS[kind]}")
        world_size = raw.get("world_size", 1)
        if not isinstance(world_size, int) or isinstance(world_size, bool) or world_size < 1:
            raise RunError(f"{path}: 'world_size' must be a positive whole number")
        precision = raw.get("precision")
        if precision not in (None, *PRECISIONS):
            raise RunError(f"{path}: 'precision' {precision!r}: one of {', '.join(PRECISIONS)}")
        try:
            data_cls = model_entry(raw["model"]).data_config_class
            return cls(
                model=raw["model"],
                model_config=dict(raw["model_config"]),
                train=from_dict(TrainConfig, raw["train"], where=f"{path}: train"),
                data=from_dict(data_cls, raw.get("data") or {}, where=f"{path}: data"),
                data_info=dict(raw.get("data_info") or {}),
                world_size=world_size,
                precision=precision,
            )
        except ConfigError as err:
            raise RunError(str(err)) from None
        except RunError as err:
            raise RunError(f"{path}: {err}") from None

    def model_settings(self, model_cls: type) -> Any:
        """The saved model config as ``model_cls.config_class`` (checked types; old runs'
        missing fields get the model's legacy defaults)."""
        values = model_cls.config_class.legacy_defaults() | self.model_config
        return from_dict(model_cls.config_class, values, where="model_config")


PRECISIONS = ("float32", "bf16")


def merge_resume(
    saved: RunConfig,
    model_cls: type,
    *,
    train: dict[str, Any],
    model: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    config_file: bool = False,
) -> RunConfig:
    """The config a resumed run continues with: the saved one, with the trainer options the
    user gave (``train``: field → value) that a resume may change.

    ConfigError names every option that a resumed run cannot change (model and data
    options, and trainer options that are not ``resumable``). ``--steps`` replaces a saved
    ``--epochs`` and the other way round.
    """
    fixed = [option_flag(model_cls.config_class, n) for n in (model or {})]
    fixed += [option_flag(model_cls.data_config(), n) for n in (data or {})]
    resumable = {f.name for f in fields(TrainConfig) if f.metadata.get("resumable")}
    fixed += [option_flag(TrainConfig, n) for n in train if n not in resumable]
    if config_file:
        fixed.append("--config")
    if fixed:
        raise ConfigError(f"{saved.model}: a resumed run keeps its config; drop {', '.join(fixed)}")
    values = asdict(saved.train)
    values.update(train)
    if "steps" in train:
        values["epochs"] = None
    if "epochs" in train:
        values["steps"] = None
    merged = copy.copy(saved)
    merged.train = from_dict(TrainConfig, values)
    return merged


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML config file with optional ``[model]``, ``[train]`` and ``[data]`` tables."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        raise ConfigError("reading a TOML config needs Python 3.11 or later") from None
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from None
    unknown = sorted(set(raw) - {"model", "train", "data"})
    if unknown:
        raise ConfigError(f"{path}: unknown table(s) {', '.join(unknown)} (use model, train, data)")
    return raw
