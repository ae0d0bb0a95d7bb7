"""Trainable models, registered by name for the trainer and the CLI.

A new model is one module and no CLI code::

    @dataclass
    class MyConfig(ModelConfig):
        lr: float = option(2e-4, "Adam learning rate.")  # becomes --lr, help and default

    class MyModel(Model):
        name = "mine"                      # `hangulgan train mine`
        config_class = MyConfig
        data_config_class = MyDataConfig   # its data options (None: the glyph corpus ones)

        @classmethod
        def make_dataset(cls, data, config): ...       # a TrainingData
        def __init__(self, config, info): ...           # self.networks only
        def configure_optimizers(self): ...             # once, after the move to the device
        def training_step(self, batch, step): ...       # self.optimizer_step(name) per step
        def grid_inputs(self, n, generator, real=None): ...
        def generate(self, inputs, networks=None): ...

    register_model(MyModel)

See :mod:`hangulgan.train.contract` for the whole contract (capabilities, visual sheets,
extra checkpoint state, the TrainingData protocol).
"""

from __future__ import annotations

from hangulgan.errors import RunError
from hangulgan.models.dcgan import DCGAN, DCGANConfig
from hangulgan.models.styled import StyledConfig, StyledModel
from hangulgan.train.contract import DataInfo, Model, Runtime
from hangulgan.train.options import ModelConfig

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
import hangulgan.translate  # noqa: E402, F401  (the image-translation models, likewise)

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
