"""Weight files: the one reader and writer of hangulgan's safetensors files.

Every file of tensors hangulgan writes is a safetensors file whose header names its
``format`` (and, for most, its ``version``) beside the file's other metadata as JSON
text: checkpoints (:mod:`hangulgan.train.checkpoint`), the styled generator's weights
(:mod:`hangulgan.models.styled_weights`) and the glyph classifiers
(:mod:`hangulgan.eval.classifier_files`, whose description lies beside the weights in
``NAME.json``). This module writes them atomically, reads them back, and checks format
and version in one place (:func:`check_format`). Nothing is ever unpickled: tensors are
read by safetensors and the rest by ``json``.

The weights hangulgan ships lie in one folder of the package, ``hangulgan/weights/``
(:func:`shipped_weights`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save

from hangulgan.errors import CheckpointError
from hangulgan.io import write_bytes_atomic, write_json_atomic

SHIPPED_PACKAGE = "hangulgan"
SHIPPED_FOLDER = "weights"


@dataclass
class WeightsFile:
    """A weights file read from disk: its tensors (on the CPU) and its header metadata."""

    path: Path
    tensors: dict[str, torch.Tensor]
    header: dict[str, str]

    def json_field(self, key: str, what: str) -> Any:
        """The header entry ``key`` parsed as JSON; CheckpointError when absent or damaged."""
        try:
            return json.loads(self.header[key])
        except (KeyError, json.JSONDecodeError) as err:
            raise CheckpointError(f"{self.path}: damaged {what} metadata ({err})") from None


def shipped_weights(name: str) -> Path:
    """Where the shipped weights file ``name`` lies: the package's one weights folder."""
    return Path(str(resources.files(SHIPPED_PACKAGE) / SHIPPED_FOLDER / name))


def check_format(
    path: str | Path, found: Mapping[str, Any], fmt: str, version: Any, what: str
) -> None:
    """CheckpointError, naming ``path``, when ``found`` (a header or a JSON description)
    is not of format ``fmt`` or, with ``version`` not None, not of that version.

    ``version`` is compared as given: safetensors headers hold strings, JSON numbers.
    """
    if found.get("format") != fmt:
        raise CheckpointError(f"{path}: not a hangulgan {what}")
    if version is not None and found.get("version") != version:
        raise CheckpointError(
            f"{path}: {what} version {found.get('version')}, this hangulgan reads version {version}"
        )


def header_fields(fmt: str, version: int | None, **fields: str) -> dict[str, str]:
    """A header naming ``fmt`` (and ``version``, when not None), with further text fields."""
    header = {"format": fmt}
    if version is not None:
        header["version"] = str(version)
    return header | fields


def write_weights(
    path: str | Path, tensors: Mapping[str, torch.Tensor], header: dict[str, str]
) -> Path:
    """Write ``tensors`` with ``header`` (see :func:`header_fields`) to ``path``, atomically.

    Tensors are moved to the CPU and made contiguous; parent folders are created.
    """
    path = Path(path)
    state = {key: value.detach().to("cpu").contiguous() for key, value in tensors.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    # safetensors' save_file makes its file owner-only (0600); written through
    # write_bytes_atomic a weights file gets the permissions of every other output
    write_bytes_atomic(path, save(state, metadata=header))
    return path


def read_header(path: str | Path, what: str) -> dict[str, str]:
    """The header metadata of a safetensors file, without reading its tensors."""
    path = Path(path)
    _check_exists(path, what)
    try:
        with safe_open(str(path), framework="pt") as handle:
            return dict(handle.metadata() or {})
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path}: unreadable {what} ({_first_line(err)})") from None


def read_weights(
    path: str | Path, fmt: str, version: int | None, what: str, prefix: str | None = None
) -> WeightsFile:
    """Read a weights file of format ``fmt`` (and ``version``, when not None).

    ``prefix``: read only the tensors whose names start with it. CheckpointError, naming
    the file, when it is missing, unreadable or truncated, or of another format or version.
    """
    path = Path(path)
    _check_exists(path, what)
    try:
        with safe_open(str(path), framework="pt") as handle:
            header = dict(handle.metadata() or {})
            check_format(path, header, fmt, None if version is None else str(version), what)
            tensors = {
                key: handle.get_tensor(key)
                for key in handle.keys()
                if prefix is None or key.startswith(prefix)
            }
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise CheckpointError(
            f"{path}: unreadable or truncated {what} ({_first_line(err)})"
        ) from None
    return WeightsFile(path=path, tensors=tensors, header=header)


def write_description(path: str | Path, description: dict[str, Any]) -> Path:
    """Write a weights file's JSON description (``NAME.json`` beside it), atomically."""
    write_json_atomic(path, description)
    return Path(path)


def read_description(path: str | Path, fmt: str, version: int, what: str) -> dict[str, Any]:
    """A weights file's JSON description of format ``fmt`` and ``version`` (a JSON number).

    CheckpointError, naming the file, when it is missing, not JSON, or of another format
    or version.
    """
    path = Path(path)
    _check_exists(path, f"{what} file")
    try:
        description = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path}: not a {what} description ({err})") from None
    if not isinstance(description, dict):
        raise CheckpointError(f"{path}: not a hangulgan {what}")
    check_format(path, description, fmt, version, what)
    return description


def _check_exists(path: Path, what: str) -> None:
    if not path.is_file():
        raise CheckpointError(f"{path}: no such {what}")


def _first_line(err: BaseException) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__
