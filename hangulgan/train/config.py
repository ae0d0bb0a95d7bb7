"""Config dataclasses of a training run, and the ``config.json`` a run folder keeps.

The CLI fills these from its options (or a TOML file); the trainer saves them with the
run and restores them on resume, so a resumed run trains exactly what it started with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from hangulgan import __version__
from hangulgan.errors import ConfigError, RunError
from hangulgan.io import read_format_json, write_json_atomic

RUN_FORMAT = "hangulgan.run"
RUN_VERSION = 1
CONFIG_FILE = "config.json"
DEFAULT_STEPS = 5000


@dataclass
class DataConfig:
    """Which glyphs to train on."""

    corpus: str | None = None
    faces: list[str] | None = None
    charset: str = "all"
    augmented: bool = False


@dataclass
class TrainConfig:
    """Everything the trainer (not the model) decides.

    ``steps`` and ``epochs`` are alternatives; with neither, the run lasts
    :data:`DEFAULT_STEPS` steps. ``batch`` is the global batch, split over DDP ranks.
    Intervals of 0 switch the thing off (a checkpoint and a grid are still written at the
    end).
    """

    steps: int | None = None
    epochs: float | None = None
    batch: int = 256
    seed: int = 0
    device: str = "auto"
    amp: str = "auto"  # auto (bf16 autocast where the device runs bf16 natively) | off | bf16
    threads: int = 0  # torch intra-op threads; 0 = torch's default (one per core)
    log_every: int = 50
    sample_every: int = 500
    checkpoint_every: int = 1000
    keep_checkpoints: int = 2
    ema: bool = False
    ema_decay: float = 0.999
    grid: int = 64
    tensorboard: bool = False
    progress: bool = True

    def validate(self) -> None:
        """Raise ConfigError for a value out of range."""
        if self.steps is not None and self.epochs is not None:
            raise ConfigError("give --steps or --epochs, not both")
        if self.steps is not None and self.steps < 0:
            raise ConfigError(f"--steps {self.steps}: must be 0 or more")
        if self.epochs is not None and not self.epochs > 0:
            raise ConfigError(f"--epochs {self.epochs}: must be positive")
        if self.batch < 1:
            raise ConfigError(f"--batch {self.batch}: must be 1 or more")
        for name in ("log_every", "sample_every", "checkpoint_every", "threads"):
            if getattr(self, name) < 0:
                raise ConfigError(f"--{name.replace('_', '-')} {getattr(self, name)}: must be ≥ 0")
        if self.keep_checkpoints < 1:
            raise ConfigError(f"--keep-checkpoints {self.keep_checkpoints}: must be 1 or more")
        if not 0 < self.ema_decay < 1:
            raise ConfigError(f"--ema-decay {self.ema_decay}: must lie in (0, 1)")
        if self.grid < 1:
            raise ConfigError(f"--grid {self.grid}: must be 1 or more")
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
    """The whole description of a run, saved as ``runs/NAME/config.json``."""

    model: str
    model_config: dict[str, Any]
    train: TrainConfig
    data: DataConfig = field(default_factory=DataConfig)
    data_info: dict[str, Any] = field(default_factory=dict)
    world_size: int = 1

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
        }

    def save(self, run_dir: Path) -> None:
        """Write ``config.json`` atomically."""
        write_json_atomic(run_dir / CONFIG_FILE, self.to_dict())

    @classmethod
    def load(cls, run_dir: str | Path) -> RunConfig:
        """Read a run's ``config.json``; RunError when missing, malformed or of another version."""
        run_dir = Path(run_dir)
        path = run_dir / CONFIG_FILE
        if not run_dir.is_dir():
            raise RunError(f"{run_dir}: no such run folder")
        if not path.is_file():
            raise RunError(f"{run_dir}: not a run folder (no {CONFIG_FILE})")
        raw = read_format_json(path, RUN_FORMAT, RUN_VERSION, RunError, "run config")
        try:
            return cls(
                model=str(raw["model"]),
                model_config=dict(raw["model_config"]),
                train=from_dict(TrainConfig, raw.get("train", {})),
                data=from_dict(DataConfig, raw.get("data", {})),
                data_info=dict(raw.get("data_info", {})),
                world_size=int(raw.get("world_size", 1)),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise RunError(f"{path}: malformed run config ({err})") from None


def from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Build dataclass ``cls`` from a dict; ConfigError names an unknown key."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} option(s): {', '.join(unknown)}")
    return cls(**data)


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
