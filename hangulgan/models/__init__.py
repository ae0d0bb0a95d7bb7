"""Trainable models, registered by name for the trainer and the CLI.

A new model is one module: subclass :class:`hangulgan.models.base.Model`, give it a
``name`` and a config dataclass, and add it to :data:`MODELS` (or call
:func:`register_model`).
"""

from __future__ import annotations

from hangulgan.errors import RunError
from hangulgan.models.base import DataInfo, Model, ModelConfig, Runtime
from hangulgan.models.dcgan import DCGAN, DCGANConfig
from hangulgan.models.styled import StyledConfig, StyledModel

MODELS: dict[str, type[Model]] = {}


def register_model(cls: type[Model]) -> type[Model]:
    """Add a model class to the registry under ``cls.name`` (usable as a decorator)."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    MODELS[cls.name] = cls
    return cls


def get_model_class(name: str) -> type[Model]:
    """The model class registered as ``name``; RunError when unknown."""
    try:
        return MODELS[name]
    except KeyError:
        raise RunError(
            f"unknown model {name!r} (known: {', '.join(sorted(MODELS)) or 'none'})"
        ) from None


register_model(DCGAN)
register_model(StyledModel)

# The glyph classifiers live with the evaluation tools they serve; the module registers
# its model itself (a plain import, last, so that either package may be imported first).
import hangulgan.eval.classifier  # noqa: E402, F401

__all__ = [
    "DCGAN",
    "DCGANConfig",
    "DataInfo",
    "MODELS",
    "Model",
    "ModelConfig",
    "Runtime",
    "StyledConfig",
    "StyledModel",
    "get_model_class",
    "register_model",
]
