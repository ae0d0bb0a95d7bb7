"""Models by name, imported only when asked for.

The registry maps a model's name (``hangulgan train NAME``, the ``model`` of a run's
``config.json``) to a :class:`ModelEntry`: where its model class and its config classes
live, as ``"module:Class"`` strings, and which family it belongs to. Nothing is imported
until a caller asks for a class, and the config classes live in modules that import no
torch, so listing the models and printing a model's ``--help`` never load torch or the
model's networks.

Three sources, looked up in this order:

* the built-in models (:data:`BUILTIN`);
* classes registered at run time with :func:`register_model` (a test's toy model);
* other packages' models, declared as entry points of the group ``hangulgan.models``
  (the name is the model's name, the value ``"package.module:ModelClass"``); their module
  is imported when the registry first lists or looks up a model outside the built-ins.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hangulgan.errors import RunError
from hangulgan.train.options import GLYPH, TRANSLATION

if TYPE_CHECKING:
    from hangulgan.train.contract import Model
    from hangulgan.train.options import ModelConfig

ENTRY_POINT_GROUP = "hangulgan.models"
GLYPH_DATA_CONFIG = "hangulgan.train.options:DataConfig"


def load_attribute(target: str) -> Any:
    """The object a ``"module:attribute"`` string names (its module imported now)."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class ModelEntry:
    """Where a model lives; every class is imported on first use.

    ``model`` is the :class:`~hangulgan.train.contract.Model` subclass (a class, or its
    ``"module:Class"``), ``config`` its :class:`~hangulgan.train.options.ModelConfig` and
    ``data_config`` its data options (torch-free modules, so that the command line can
    be built from them alone); ``family`` is the model's :attr:`Model.family`.
    """

    name: str
    model: str | type
    config: str | type
    family: str = GLYPH
    data_config: str | type = GLYPH_DATA_CONFIG

    @classmethod
    def of_class(cls, model_cls: type[Model]) -> ModelEntry:
        """The entry of a model class (its classes already imported)."""
        if not model_cls.name:
            raise ValueError(f"{model_cls.__name__} has no name")
        return cls(
            name=model_cls.name,
            model=model_cls,
            config=model_cls.config_class,
            family=model_cls.family,
            data_config=model_cls.data_config(),
        )

    @property
    def model_class(self) -> type[Model]:
        """The model class (imports its module, and with it torch)."""
        return _resolve(self.model)

    @property
    def config_class(self) -> type[ModelConfig]:
        """The model's config dataclass (``Model.config_class``)."""
        return _resolve(self.config)

    @property
    def data_config_class(self) -> type:
        """The dataclass of the model's data options (``Model.data_config()``)."""
        return _resolve(self.data_config)

    @property
    def help(self) -> str:
        """The help of the model's training command: a loaded model class's own
        ``description``, else its config's ``command_help`` (which the built-in models
        use: it needs no torch), else the model's docstring."""
        text = self.model.description if isinstance(self.model, type) else ""
        text = text or getattr(self.config_class, "command_help", "")
        if not text:
            text = inspect.getdoc(self.model_class) or ""
        return inspect.cleandoc(text) if text else self.name


def _resolve(target: str | type) -> Any:
    return load_attribute(target) if isinstance(target, str) else target


BUILTIN: dict[str, ModelEntry] = {
    entry.name: entry
    for entry in (
        ModelEntry(
            "dcgan",
            model="hangulgan.models.dcgan:DCGAN",
            config="hangulgan.models.dcgan_config:DCGANConfig",
        ),
        ModelEntry(
            "styled",
            model="hangulgan.models.styled:StyledModel",
            config="hangulgan.models.styled_config:StyledConfig",
            data_config="hangulgan.models.styled_config:StyledDataConfig",
        ),
        ModelEntry(
            "classifier",
            model="hangulgan.eval.classifier_model:GlyphClassifier",
            config="hangulgan.eval.classifier_config:ClassifierConfig",
            data_config="hangulgan.eval.classifier_config:ClassifierDataConfig",
        ),
        ModelEntry(
            "crnn",
            model="hangulgan.ocr.crnn:CRNN",
            config="hangulgan.ocr.crnn_config:CRNNConfig",
            data_config="hangulgan.ocr.crnn_config:CRNNDataConfig",
        ),
        ModelEntry(
            "pix2pix",
            model="hangulgan.translate.models:Pix2Pix",
            config="hangulgan.translate.config:Pix2PixConfig",
            family=TRANSLATION,
            data_config="hangulgan.translate.config:TranslateDataConfig",
        ),
        ModelEntry(
            "autoencoder",
            model="hangulgan.translate.models:Autoencoder",
            config="hangulgan.translate.config:AutoencoderConfig",
            family=TRANSLATION,
            data_config="hangulgan.translate.config:TranslateDataConfig",
        ),
        ModelEntry(
            "cyclegan",
            model="hangulgan.translate.unpaired:CycleGAN",
            config="hangulgan.translate.config:CycleGANConfig",
            family=TRANSLATION,
            data_config="hangulgan.translate.config:TranslateDataConfig",
        ),
        ModelEntry(
            "ugatit",
            model="hangulgan.translate.unpaired:UGATIT",
            config="hangulgan.translate.config:UGATITConfig",
            family=TRANSLATION,
            data_config="hangulgan.translate.config:TranslateDataConfig",
        ),
    )
}


class Registry(MutableMapping):
    """Model classes by name (``registry["dcgan"]`` imports the DCGAN's module).

    A mutable mapping so that a test registers a model for one test
    (``monkeypatch.setitem(MODELS, name, cls)``); :meth:`entry` and :meth:`names` answer
    without importing any built-in model.
    """

    def __init__(self, builtin: dict[str, ModelEntry]) -> None:
        self._builtin = dict(builtin)
        self._added: dict[str, ModelEntry] = {}  # register_model, newest wins
        self._removed: set[str] = set()
        self._plugins: dict[str, ModelEntry] | None = None

    def _installed(self) -> dict[str, ModelEntry]:
        """Models other packages declare as entry points (read once)."""
        if self._plugins is None:
            from importlib import metadata  # ~40 ms: only when a name is not built in

            self._plugins = {}
            for point in metadata.entry_points(group=ENTRY_POINT_GROUP):
                if point.name in self._builtin:
                    continue  # a package cannot replace a built-in model
                self._plugins[point.name] = ModelEntry.of_class(point.load())
        return self._plugins

    def _lookup(self, name: str) -> ModelEntry | None:
        if name in self._removed:
            return None
        if name in self._added:
            return self._added[name]
        if name in self._builtin:
            return self._builtin[name]
        return self._installed().get(name)

    def entry(self, name: str) -> ModelEntry:
        """The entry of model ``name``; RunError naming the known models when unknown."""
        found = self._lookup(name)
        if found is None:
            raise RunError(f"unknown model {name!r} (known: {', '.join(self.names()) or 'none'})")
        return found

    def names(self, family: str | None = None) -> list[str]:
        """The models' names, sorted; with ``family``, only that family's."""
        every = {**self._installed(), **self._builtin, **self._added}
        return sorted(
            name
            for name, entry in every.items()
            if name not in self._removed and (family is None or entry.family == family)
        )

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._lookup(name) is not None

    def __getitem__(self, name: str) -> type[Model]:
        found = self._lookup(name)
        if found is None:
            raise KeyError(name)
        return found.model_class

    def __setitem__(self, name: str, model_cls: type[Model]) -> None:
        entry = ModelEntry.of_class(model_cls)
        if entry.name != name:
            raise ValueError(f"{model_cls.__name__} is named {entry.name!r}, not {name!r}")
        self._added[name] = entry
        self._removed.discard(name)

    def __delitem__(self, name: str) -> None:
        if self._lookup(name) is None:
            raise KeyError(name)
        if name in self._added:
            del self._added[name]
            if self._lookup(name) is not None:  # the built-in or installed one it hid
                return
        self._removed.add(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())


MODELS = Registry(BUILTIN)


def register_model(model_cls: type[Model]) -> type[Model]:
    """Add a model class under ``model_cls.name`` (usable as a decorator); it hides a model
    of the same name."""
    MODELS[model_cls.name] = model_cls
    return model_cls


def model_entry(name: str) -> ModelEntry:
    """The registry entry of model ``name`` (imports nothing); RunError when unknown."""
    return MODELS.entry(name)


def get_model_class(name: str) -> type[Model]:
    """The model class registered as ``name`` (imported now); RunError when unknown."""
    return model_entry(name).model_class


def model_names(family: str | None = None) -> list[str]:
    """The registered models' names, sorted; with ``family`` (:data:`GLYPH` or
    :data:`TRANSLATION`), only that family's."""
    return MODELS.names(family)
