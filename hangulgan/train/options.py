"""Config dataclasses whose fields are command-line options; imports no torch.

The torch-free half of the model contract (the other half, :mod:`hangulgan.train.contract`,
holds :class:`~hangulgan.train.contract.Model`): :class:`ModelConfig`, the glyph models'
data options (:class:`DataConfig`) and the families a model may declare. Model, data and
trainer options are dataclasses whose fields carry their command-line help (:func:`option`);
``hangulgan train MODEL`` is generated from them, and a saved ``config.json`` or a TOML
file is read back into them by :func:`from_dict`. Nothing here imports torch, so the
command line can build its ``--help`` from a model's config without loading the model.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Iterable
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from hangulgan.errors import ConfigError
from hangulgan.hangul import CHARSET_NAMES

# The families a model declares (``Model.family``): which command trains it, so that the
# command line sorts the models without importing them (the registry names each's family).
GLYPH = "glyph"  # trains on a glyph corpus: `hangulgan train NAME`
TRANSLATION = "translation"  # image-to-image: `hangulgan translate train NAME`

# how an error message names a value's expected type
TYPE_WORDS = {str: "string", dict: "table", int: "whole number", float: "number", bool: "boolean"}


def option(
    default: Any = MISSING,
    help: str = "",
    *,
    flag: str | None = None,
    choices: Iterable[str] | None = None,
    resumable: bool = False,
    multiple: bool = False,
    path: bool | Iterable[str] = False,
    default_factory: Any = MISSING,
) -> Any:
    """A config dataclass field that is also a command-line option.

    ``help`` is the option's help text; ``flag`` names the option when it differs from the
    field (``latent_dim`` → ``--latent``); ``choices`` restricts a string; ``resumable``
    marks a trainer option that ``--resume`` may change; ``multiple`` makes a list option
    that may be repeated or comma-separated. ``path`` marks a file or folder that a run
    stores resolved (:func:`resolve_paths`), so that it is found from any working folder;
    given as names (a charset's ``all``, ``ksx1001``...), the values that are no path.
    """
    metadata = {
        "help": help,
        "flag": flag,
        "choices": tuple(choices) if choices is not None else None,
        "resumable": resumable,
        "multiple": multiple,
        "path": path if isinstance(path, bool) else tuple(path),
    }
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class ModelConfig:
    """Base of the model config dataclasses; subclasses add fields made with :func:`option`."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    def validate(self) -> None:
        """Raise :class:`~hangulgan.errors.ConfigError` for values out of range."""

    @classmethod
    def legacy_defaults(cls) -> dict[str, Any]:
        """Values for fields a run saved by an older hangulgan lacks (keep old runs loadable)."""
        return {}


@dataclass
class DataConfig:
    """Which glyphs to train on: a selection of a corpus (the data of every glyph model)."""

    corpus: str | None = option(None, "Corpus folder from `hangulgan render`.", path=True)
    faces: list[str] | None = option(
        None, "Train on these faces only (repeat, or comma-separate). Default: all.", multiple=True
    )
    charset: str = option(
        "all",
        "Syllables to train on: all, ksx1001, seed16 (the 16 of the original examples), or a "
        "text file.",
        path=CHARSET_NAMES,
    )
    augmented: bool = option(False, "Also train on the corpus' augmented copies.")


# --------------------------------------------------------------- dataclasses as options


def field_type(cls: type, name: str) -> tuple[type, bool, bool]:
    """(base type, may be None, is a list) of dataclass field ``name``."""
    hints = _hints(cls)
    hint = hints[name]
    optional = False
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        optional = type(None) in args
        rest = [a for a in args if a is not type(None)]
        hint = rest[0]
    if typing.get_origin(hint) in (list, tuple):
        return typing.get_args(hint)[0], optional, True
    return hint, optional, False


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def option_flag(cls: type, name: str) -> str:
    """The command-line option of dataclass field ``name`` (``--latent`` for latent_dim)."""
    for f in fields(cls):
        if f.name == name:
            return "--" + (f.metadata.get("flag") or name).replace("_", "-")
    raise KeyError(name)


def _check_value(cls: type, name: str, value: Any, where: str) -> Any:
    """``value`` for field ``name`` of ``cls``, or ConfigError naming where it came from."""
    base, optional, is_list = field_type(cls, name)
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{where}: {name} must not be empty")
    if is_list:
        if not isinstance(value, (list, tuple)) or not all(_fits(base, item) for item in value):
            raise ConfigError(f"{where}: {name} must be a list of {TYPE_WORDS.get(base, base)}s")
        return list(value)
    if not _fits(base, value):
        raise ConfigError(f"{where}: {name} must be a {TYPE_WORDS.get(base, base)}, not {value!r}")
    choices = next(f.metadata.get("choices") for f in fields(cls) if f.name == name)
    if choices and value not in choices:
        raise ConfigError(f"{where}: {name} {value!r}: choose one of {', '.join(choices)}")
    return float(value) if base is float else value


def _fits(base: type, value: Any) -> bool:
    if base is bool:
        return isinstance(value, bool)
    if base is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if base is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if base is str:
        return isinstance(value, str)
    return isinstance(value, base)


def from_dict(cls: type, data: dict[str, Any], where: str | None = None) -> Any:
    """Build dataclass ``cls`` from a dict (a TOML table, a saved config).

    ConfigError names an unknown key or a value of the wrong type (a batch of ``"32"``),
    prefixed by ``where`` (the file and table).
    """
    where = where or cls.__name__
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a table of options")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown option(s) {', '.join(unknown)}")
    values = {name: _check_value(cls, name, value, where) for name, value in data.items()}
    return cls(**values)


def compose(cls: type, table: dict[str, Any] | None, given: dict[str, Any], where: str) -> Any:
    """Dataclass ``cls`` from its defaults ← a TOML ``table`` ← the options a user ``given``."""
    values = dict(table or {})
    values.update(given)
    return from_dict(cls, values, where=where)


def resolve_paths(config: Any) -> Any:
    """A copy of dataclass ``config`` whose path options (``option(path=...)``) are absolute
    (a list option: each comma-separated entry), so that a run's config.json finds its
    corpus from any working folder. None, "" and the names a field lists stay as they are."""
    changes: dict[str, Any] = {}
    for f in fields(config):
        kind = f.metadata.get("path")
        if not kind:
            continue
        names = () if kind is True else kind
        value = getattr(config, f.name)

        def resolve(entry: Any, names: tuple[str, ...] = names) -> Any:
            if not isinstance(entry, str) or entry in ("", *names):
                return entry
            return str(Path(entry).expanduser().resolve())

        if isinstance(value, list):  # "repeat, or comma-separate": each part resolved
            value = [",".join(resolve(part.strip()) for part in v.split(",")) for v in value]
            changes[f.name] = value
        else:
            changes[f.name] = resolve(value)
    return replace(config, **changes)
