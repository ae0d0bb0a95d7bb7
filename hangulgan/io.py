"""Atomic writes: a reader sees either the old file or the whole new one, never half."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once: os.umask can only be read by setting it, which is not thread-safe.
_UMASK = _read_umask()


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; it replaces ``path`` if the block succeeds."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix + ".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp makes the file owner-only; give it the mode a plain open() would.
    os.chmod(tmp_path, 0o666 & ~_UMASK)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented UTF-8 JSON to ``path`` atomically."""
    text = json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    write_bytes_atomic(path, text.encode("utf-8"))


@contextmanager
def atomic_dir(path: str | os.PathLike, replace: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; it becomes ``path`` only if the block succeeds.

    With ``replace`` an existing folder at ``path`` is swapped out after the new one is whole.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_UMASK)  # mkdtemp makes it owner-only
    try:
        yield tmp
        if path.exists():
            if not replace:
                raise FileExistsError(f"{path}: already exists")
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def read_format_json(
    path: Path, fmt: str, version: int, error: type[Exception], what: str, hint: str = ""
) -> dict[str, Any]:
    """Read a JSON file that names its ``format`` and ``version``; ``error`` (one line naming
    the file) when it is unreadable, of another format, or of another version."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise error(f"{path}: not valid JSON ({err})") from None
    except OSError as err:
        raise error(f"{path}: cannot read ({err.strerror or err})") from None
    if not isinstance(data, dict) or data.get("format") != fmt:
        raise error(f"{path}: not a hangulgan {what}")
    if data.get("version") != version:
        raise error(
            f"{path}: {what} version {data.get('version')}, this hangulgan reads version "
            f"{version}" + (f"; {hint}" if hint else "")
        )
    return data


def read_folder_header(
    folder: str | os.PathLike,
    filename: str,
    fmt: str,
    version: int,
    error: type[Exception],
    kind: str,
    what: str,
    hint: str = "",
    missing_hint: str = "",
) -> dict[str, Any]:
    """Open a folder of kind ``kind`` (a corpus, a glyph set, a run) and read its versioned
    JSON header ``filename`` (see :func:`read_format_json`); ``error`` names the folder when
    it is missing, is a file, or lacks the header."""
    folder = Path(folder)
    if not folder.exists():
        raise error(f"{folder}: no such {kind} folder")
    if not folder.is_dir():
        raise error(f"{folder}: is a file, not a {kind} folder")
    path = folder / filename
    if not path.is_file():
        extra = f"; {missing_hint}" if missing_hint else ""
        raise error(f"{folder}: not a {kind} (no {filename}{extra})")
    return read_format_json(path, fmt, version, error, what, hint)
