"""The model contract: the interface between a model and the shared trainer.

A model owns its networks (``nn.Module`` by name), its optimizers (by name) and one
training step; it never contains a loop. The trainer (:mod:`hangulgan.train.loop`) owns
the loop, devices, seeding, mixed precision, checkpoints, resume, logs, sample grids, the
EMA copies of the networks a model names in ``ema_networks``, and distributed training.

The contract, in the order the trainer uses it:

* ``Model.make_dataset(data_config, model_config)`` (class method) opens the training
  data from the model's data config (``data_config_class``; by default the glyph corpus
  selection :class:`~hangulgan.train.options.DataConfig`) and its own config. The result
  follows :class:`TrainingData`.
* ``Model(config, info)`` builds the networks (``self.networks``) from the config and a
  :class:`DataInfo`; the trainer then moves the model with :meth:`Model.to`.
* :meth:`Model.configure_optimizers` is called once, on first use of ``model.optimizers``,
  after the networks sit on their device (so fused optimizers bind to the right tensors
  and a restored state is never dropped by a later move).
* :meth:`Model.training_step` takes a batch (a dict of tensors whose keys the dataset
  declares in ``batch_keys``) and steps every optimizer through
  :meth:`Model.optimizer_step`; a direct ``optimizer.step()`` raises (under DDP it would let
  the ranks drift apart).
* :meth:`Model.extra_state` / :meth:`Model.load_extra_state`: state beside networks,
  optimizers and schedulers (an image pool, a counter) that a checkpoint keeps.
* :meth:`Model.grid_inputs` (fixed inputs, optionally from a fixed batch of real data),
  :meth:`Model.generate` and :meth:`Model.visuals` (named panels for a visual sheet) draw
  the sample grids; :meth:`Model.capabilities` says what ``sample`` may ask of a run.

Model, data and trainer options are dataclasses whose fields carry their command-line
help (:func:`~hangulgan.train.options.option`); ``hangulgan train MODEL`` is generated from
them. Those dataclasses and :class:`~hangulgan.train.options.ModelConfig` live in
:mod:`hangulgan.train.options`, which imports no torch, so that the command line builds a
model's ``--help`` without loading torch.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from hangulgan.errors import CheckpointError, ConfigError
from hangulgan.train.options import GLYPH, ModelConfig

if TYPE_CHECKING:
    from hangulgan.train.options import DataConfig


class Capability(str, enum.Enum):
    """What a trained model can produce; ``sample`` and ``runs list`` ask for these."""

    GRID = "grid"  # a sample grid (from noise or fixed inputs)
    SYLLABLES = "syllables"  # images of the syllables it is asked for
    GLYPH_SET = "glyph-set"  # a glyph set: one glyph per asked syllable, all of one face
    TRANSLATE = "translate"  # output images for input images


@runtime_checkable
class TrainingData(Protocol):
    """What the trainer needs of a dataset (see :class:`~hangulgan.data.dataset.GlyphDataset`).

    ``get_batch`` must draw any randomness (random references, crops) from ``seed`` or from
    torch's global generator, which the trainer seeds with the same value just before the
    call, so that a resumed or distributed run draws the same batches. With
    ``loader_workers`` > 0 the trainer calls ``get_batch`` in DataLoader worker processes
    (for data read from files); 0 keeps it in the training process (in-memory data).
    """

    channels: int  # 1 (glyphs) or 3 (RGB images)
    size: tuple[int, int]  # (height, width) of every image
    face_names: list[str]  # the faces (or domains, classes) the items come from
    codepoints: np.ndarray  # the code point of each item (0 where none)
    batch_keys: tuple[str, ...]  # the keys of every batch
    ink: bool  # True: images are glyphs, ink = +1 (grids invert them to black on white)
    loader_workers: int  # DataLoader worker processes (0: get_batch in the training process)

    def __len__(self) -> int:
        """How many items the dataset holds (a protocol member: datasets implement it)."""

    def get_batch(self, indices: np.ndarray, seed: int | None = None) -> dict[str, torch.Tensor]:
        """The items ``indices`` as a batch: a dict of tensors keyed by ``batch_keys``."""


@dataclass(frozen=True)
class DataInfo:
    """What a model must know about its data to build its networks."""

    height: int = 32
    width: int = 32
    channels: int = 1
    num_faces: int = 1
    face_names: tuple[str, ...] = ()
    grid_syllables: tuple[int, ...] = ()  # code points of the fixed grid (conditional)
    syllables: str = ""  # the distinct syllables trained on, as text
    batch_keys: tuple[str, ...] = ()
    ink: bool = True  # glyph images (ink = +1); False for photographs and paintings
    # where the training glyphs' pixels lie (glyph set meta "placement" and "geometry", see
    # hangulgan.data.placement): a model's glyph sets inherit it, so export-ttf places them
    placement: dict[str, Any] = field(default_factory=dict, hash=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        for key in ("face_names", "grid_syllables", "batch_keys"):
            data[key] = list(getattr(self, key))
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataInfo:
        """Inverse of :meth:`to_dict`; unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        for key in ("face_names", "grid_syllables", "batch_keys"):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key])
        return cls(**kwargs)


class Runtime:
    """Services the trainer lends a model: gradient averaging across processes.

    The single-process runtime does nothing (and :meth:`Model.optimizer_step` does not even
    call it); :class:`hangulgan.train.dist.DistributedRuntime` all-reduces gradients so
    that every rank takes the same optimizer step.
    """

    world_size: int = 1

    def reduce_gradients(self, params: list[torch.Tensor]) -> None:
        """Average the gradients of ``params`` over all processes (here: nothing to do)."""


class Model:
    """Base class of every trainable model; see the module docstring for the contract.

    Subclasses set ``name`` and ``config_class`` (and ``data_config_class`` when they train
    on something other than a glyph corpus selection, ``family`` when they are not glyph
    models), fill ``self.networks`` in ``__init__``, and implement
    :meth:`configure_optimizers`, :meth:`training_step`, :meth:`grid_inputs` and
    :meth:`generate`. :mod:`hangulgan.train.registry` finds them by name.
    """

    name: ClassVar[str] = ""
    # help of `hangulgan train NAME` for a model registered as a class; the built-in models
    # put it on their config (``command_help``), whose module imports no torch
    description: ClassVar[str] = ""
    # which command trains it: GLYPH (`hangulgan train`) or TRANSLATION (`translate train`)
    family: ClassVar[str] = GLYPH
    config_class: ClassVar[type[ModelConfig]] = ModelConfig
    data_config_class: ClassVar[type | None] = None  # None: the glyph corpus DataConfig
    ema_networks: ClassVar[tuple[str, ...]] = ()  # networks whose weights the trainer may average
    # True: grid_inputs/sample_inputs need ``real`` (a fixed batch of training data), so
    # ``sample`` opens the run's data the way the trainer does
    samples_need_data: ClassVar[bool] = False

    def __init__(self, config: ModelConfig, info: DataInfo) -> None:
        self.config = config
        self.info = info
        self.networks: dict[str, nn.Module] = {}
        self.schedulers: dict[str, Any] = {}  # LR schedulers by name; the model steps them
        self.runtime: Runtime = Runtime()
        self.device = torch.device("cpu")
        self.memory_format = torch.contiguous_format
        self._optimizers: dict[str, torch.optim.Optimizer] | None = None
        self._stepping: str | None = None
        self._step_params: dict[str, list[torch.Tensor]] = {}

    # -- data -------------------------------------------------------------------------------
    @classmethod
    def data_config(cls) -> type:
        """The dataclass of this model's data options (``--corpus``, ``--faces``, ...)."""
        if cls.data_config_class is not None:
            return cls.data_config_class
        from hangulgan.train.options import DataConfig

        return DataConfig

    @classmethod
    def make_dataset(cls, data: DataConfig | Any, config: ModelConfig) -> TrainingData:
        """The training data this model wants, from its data config (``data``) and its own
        config (``config``: e.g. how many references a batch carries).

        The default opens the glyph corpus selection as a
        :class:`~hangulgan.data.dataset.GlyphDataset`. A model whose batches carry more
        (say K reference glyphs of the target's face) overrides this and returns its own
        dataset type built from the same corpus.
        """
        from hangulgan.train.data import open_dataset

        return open_dataset(data)

    @classmethod
    def capabilities(cls, config: ModelConfig) -> frozenset[Capability]:
        """What a model with ``config`` can produce (default: sample grids)."""
        return frozenset({Capability.GRID})

    # -- set-up the trainer calls -------------------------------------------------------
    def to(self, device: torch.device | str) -> Model:
        """Move every network to ``device``; must come before the optimizers are built."""
        device = torch.device(device)
        if self._optimizers is not None and device != self.device:
            raise RuntimeError(
                f"{self.name}: move the model before its optimizers are built "
                "(build them in configure_optimizers, not in __init__)"
            )
        self.device = device
        for net in self.networks.values():
            net.to(self.device)
        return self

    def train(self, mode: bool = True) -> None:
        """Put every network in training (or eval) mode."""
        for net in self.networks.values():
            net.train(mode)

    @property
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The optimizers by name, built by :meth:`configure_optimizers` on first use."""
        if self._optimizers is None:
            self.optimizers = self.configure_optimizers()
        assert self._optimizers is not None
        return self._optimizers

    @optimizers.setter
    def optimizers(self, value: dict[str, torch.optim.Optimizer]) -> None:
        self._optimizers = dict(value)
        self._step_params = {}
        for name, optimizer in self._optimizers.items():
            optimizer.register_step_pre_hook(self._guard(name))
            self._step_params[name] = [p for g in optimizer.param_groups for p in g["params"]]

    def _guard(self, name: str):
        def check(optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
            if self._stepping != name:
                raise RuntimeError(
                    f"{self.name}: optimizer {name!r} stepped directly; call "
                    f"self.optimizer_step({name!r}) so that every process takes the same step"
                )

        return check

    # -- what a model implements ----------------------------------------------------------
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Build the optimizers by name (called once, after the networks are on device)."""
        return {}

    def training_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        """One optimisation step on ``batch``; returns detached scalar losses by name.

        Losses stay tensors so that the trainer converts them to floats only when it logs
        (no device sync per step on CUDA). Every optimizer steps through
        :meth:`optimizer_step`.
        """
        raise NotImplementedError

    def grid_inputs(
        self,
        n: int,
        generator: torch.Generator,
        real: dict[str, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Fixed inputs (on CPU) for the sample grid, drawn from ``generator``.

        ``real`` is a fixed batch of training data (the same at every grid of a run, and
        after a resume): a translation model takes its sources from it, a few-shot model
        its references.
        """
        raise NotImplementedError

    def sample_inputs(
        self,
        n: int,
        generator: torch.Generator,
        syllables: list[int] | None = None,
        shared_noise: bool = False,
        real: dict[str, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Inputs for ``n`` samples of ``hangulgan sample``.

        ``syllables`` (cycled) only for models with :attr:`Capability.SYLLABLES`;
        ``shared_noise``: one style for all (a glyph set); ``real``: as in
        :meth:`grid_inputs` (given when ``samples_need_data``). The default is the grid
        inputs.
        """
        if syllables:
            raise ConfigError(f"the {self.name} model cannot draw given syllables")
        return self.grid_inputs(n, generator, real=real)

    @torch.no_grad()
    def generate(
        self, inputs: dict[str, torch.Tensor], networks: dict[str, nn.Module] | None = None
    ) -> torch.Tensor:
        """Images (N×C×H×W in [-1, 1], on CPU) for ``inputs``; ``networks`` may be EMA copies."""
        raise NotImplementedError

    @torch.no_grad()
    def visuals(
        self, inputs: dict[str, torch.Tensor], networks: dict[str, nn.Module] | None = None
    ) -> dict[str, torch.Tensor]:
        """Named panels (each N×C×H×W in [-1, 1]) of the run's visual sheet.

        One panel is drawn as a plain grid; several as a sheet with one row per input and
        one labelled column per panel (e.g. source | output | target, or attention maps).
        """
        return {"samples": self.generate(inputs, networks)}

    def extra_state(self) -> dict[str, Any]:
        """State beside networks, optimizers and schedulers that a checkpoint must keep.

        Values are tensors (stored as tensors) or JSON-ready values (numbers, strings,
        lists, dicts). The default holds nothing.
        """
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`extra_state` returned (the default expects nothing)."""
        if state:
            raise CheckpointError(f"{self.name}: unexpected extra state {sorted(state)}")

    # -- helpers for subclasses -----------------------------------------------------------
    def optimizer_step(self, name: str) -> None:
        """Average gradients across processes (several only), then step optimizer ``name``."""
        optimizer = self.optimizers[name]
        if self.runtime.world_size > 1:
            self.runtime.reduce_gradients(self._step_params[name])
        self._stepping = name
        try:
            optimizer.step()
        finally:
            self._stepping = None

    @staticmethod
    def zero_grad(optimizers: Iterable[torch.optim.Optimizer]) -> None:
        """Clear gradients (set to None) of several optimizers."""
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)

    def describe(self) -> dict[str, int]:
        """Trainable parameter count of each network."""
        return {
            name: sum(p.numel() for p in net.parameters() if p.requires_grad)
            for name, net in self.networks.items()
        }
