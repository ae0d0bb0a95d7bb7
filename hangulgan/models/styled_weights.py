"""The styled generator's weight files: the shipped ones, exported ones, and runs to start from.

A styled weights file is one safetensors file (through :mod:`hangulgan.train.weights`):
the generator's tensors as ``net.*``, the content table (``content``), the style bank
(``bank.codes``, ``bank.jamo``), and in its header the format, the version and an
``info`` JSON text (the network's config, the data options, the bank's faces and meta).
:class:`~hangulgan.models.styled_inference.StyledGenerator` reads and writes it through
:func:`read_styled_weights` and :func:`write_styled_weights`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from hangulgan.errors import CheckpointError
from hangulgan.train import checkpoint as ckpt
from hangulgan.train.weights import (
    header_fields,
    read_header,
    read_weights,
    shipped_weights,
    write_weights,
)

WEIGHTS_FORMAT = "hangulgan.styled-weights"
WEIGHTS_VERSION = 1
WHAT = "styled weights file"
SHIPPED_WEIGHTS = shipped_weights("styled-32.safetensors")
# The name the styled model registers under (StyledModel.name): its runs' checkpoints say so.
MODEL_NAME = "styled"
REQUIRED_TENSORS = ("content", "bank.codes", "bank.jamo")


def write_styled_weights(
    path: str | Path, tensors: dict[str, torch.Tensor], info: dict[str, Any]
) -> Path:
    """Write a styled weights file: ``tensors`` and the ``info`` JSON, atomically."""
    header = header_fields(
        WEIGHTS_FORMAT, WEIGHTS_VERSION, info=json.dumps(info, ensure_ascii=False)
    )
    return write_weights(path, tensors, header)


def read_styled_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The tensors and the ``info`` of a styled weights file.

    CheckpointError, naming the file, when it is missing, unreadable, of another format or
    version, or lacks the content table or the style bank.
    """
    weights = read_weights(path, WEIGHTS_FORMAT, WEIGHTS_VERSION, WHAT)
    info = weights.json_field("info", WHAT)
    if not isinstance(info, dict):
        raise CheckpointError(f"{weights.path}: damaged {WHAT} metadata (info is not a table)")
    for key in REQUIRED_TENSORS:
        if key not in weights.tensors:
            raise CheckpointError(f"{weights.path}: weights file lacks {key!r}")
    return weights.tensors, info


def load_net_state(source: str | Path) -> dict[str, torch.Tensor]:
    """The generator-side weights (``StyledNet`` state dict) of a run, checkpoint or weights file.

    A run folder gives its newest checkpoint; a checkpoint gives its EMA weights when it has
    them, else the live ones; a styled weights file (:func:`write_styled_weights`) gives its own.
    """
    path = Path(source)
    if path.is_dir():
        latest = ckpt.latest_checkpoint(path)
        if latest is None:
            raise CheckpointError(f"{path}: holds no checkpoint to start from")
        path = latest
    if not path.is_file():
        raise CheckpointError(f"{path}: no such run, checkpoint or weights file")
    if read_header(path, "weights").get("format") == WEIGHTS_FORMAT:
        weights = read_weights(path, WEIGHTS_FORMAT, WEIGHTS_VERSION, WHAT, prefix="net.")
        return {key[len("net.") :]: value for key, value in weights.tensors.items()}
    checkpoint = ckpt.read_checkpoint(path)
    if checkpoint.model != MODEL_NAME:
        raise CheckpointError(f"{path}: holds a {checkpoint.model!r} model, not a styled one")
    state = checkpoint.network_state("ema", "net") or checkpoint.network_state("net", "net")
    if not state:
        raise CheckpointError(f"{path}: holds no styled generator weights")
    return state
