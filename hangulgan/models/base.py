"""The interface between a model and the shared trainer.

A model owns its networks (``nn.Module`` by name), its optimizers (by name) and one
training step; it never contains a loop. The trainer (:mod:`hangulgan.train.trainer`) owns
the loop, devices, seeding, mixed precision, checkpoints, resume, logs, sample grids, the
EMA copies of the networks a model names in ``ema_networks``, and distributed training.

Batches are dicts of tensors (a glyph dataset gives ``image`` B×1×H×W in [-1, 1],
``syllable``, ``jamo`` B×3 and ``face``), so image-translation models that need
other keys plug in unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

import torch
from torch import nn


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
    # where the training glyphs' pixels lie (glyph set meta "placement" and "geometry", see
    # hangulgan.data.placement): a model's glyph sets inherit it, so export-ttf places them
    placement: dict[str, Any] = field(default_factory=dict, hash=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["face_names"] = list(self.face_names)
        data["grid_syllables"] = list(self.grid_syllables)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataInfo:
        """Inverse of :meth:`to_dict`; unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        for key in ("face_names", "grid_syllables"):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key])
        return cls(**kwargs)


class Runtime:
    """Services the trainer lends a model: gradient averaging across processes.

    The single-process runtime does nothing; :class:`hangulgan.train.dist.DistributedRuntime`
    all-reduces gradients so that every rank takes the same optimizer step.
    """

    world_size: int = 1

    def reduce_gradients(self, params: Sequence[torch.Tensor]) -> None:
        """Average the gradients of ``params`` over all processes (here: nothing to do)."""


@dataclass
class ModelConfig:
    """Base of the model config dataclasses; subclasses add their fields."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    def validate(self) -> None:
        """Raise :class:`~hangulgan.errors.ConfigError` for values out of range."""

    @classmethod
    def legacy_defaults(cls) -> dict[str, Any]:
        """Values for fields a run saved by an older hangulgan lacks (keep old runs loadable)."""
        return {}


class Model:
    """Base class of every trainable model; see the module docstring for the contract.

    Subclasses set ``name`` and ``config_class``, fill ``networks`` and ``optimizers`` (and
    ``schedulers``, if any) in ``__init__``, and implement :meth:`training_step`,
    :meth:`grid_inputs` and :meth:`generate`.
    """

    name: ClassVar[str] = ""
    config_class: ClassVar[type[ModelConfig]] = ModelConfig
    ema_networks: ClassVar[tuple[str, ...]] = ()  # networks whose weights the trainer may average

    def __init__(self, config: ModelConfig, info: DataInfo) -> None:
        self.config = config
        self.info = info
        self.networks: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, Any] = {}  # LR schedulers by name; the model steps them
        self.runtime: Runtime = Runtime()
        self.device = torch.device("cpu")
        self.memory_format = torch.contiguous_format

    # -- set-up the trainer calls -------------------------------------------------------
    def to(self, device: torch.device | str) -> Model:
        """Move every network to ``device`` (optimizers are built over the same tensors)."""
        self.device = torch.device(device)
        for net in self.networks.values():
            net.to(self.device)
        return self

    def train(self, mode: bool = True) -> None:
        """Put every network in training (or eval) mode."""
        for net in self.networks.values():
            net.train(mode)

    # -- what a model implements ----------------------------------------------------------
    def training_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        """One optimisation step on ``batch``; returns detached scalar losses by name.

        Losses stay tensors so that the trainer converts them to floats only when it logs
        (no device sync per step on CUDA).
        """
        raise NotImplementedError

    def grid_inputs(self, n: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """Fixed inputs (on CPU) for the sample grid, drawn from ``generator``."""
        raise NotImplementedError

    @torch.no_grad()
    def generate(
        self, inputs: dict[str, torch.Tensor], networks: dict[str, nn.Module] | None = None
    ) -> torch.Tensor:
        """Images (N×C×H×W in [-1, 1], on CPU) for ``inputs``; ``networks`` may be EMA copies."""
        raise NotImplementedError

    # -- helpers for subclasses -----------------------------------------------------------
    def optimizer_step(self, name: str) -> None:
        """Average gradients across processes, then step optimizer ``name``."""
        optimizer = self.optimizers[name]
        params = [p for group in optimizer.param_groups for p in group["params"]]
        self.runtime.reduce_gradients(params)
        optimizer.step()

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
