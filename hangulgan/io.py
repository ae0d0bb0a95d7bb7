"""Atomic writes (a reader sees either the old file or the whole new one, never half), and
a per-folder lock so that one writer at a time works in a corpus or run folder.

A write that fills the disk raises :class:`~hangulgan.errors.DiskFullError`
("PATH: no space left on device") whatever library did the writing, and leaves the
earlier file (or folder) as it was.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hangulgan.errors import DiskFullError, LockedError

# numpy's tofile() reports a short write without an errno ("8192 requested and 4096
# written"); on a regular file a short write means the disk or the quota is full.
_SHORT_WRITE = re.compile(r"\d+ requested and \d+ written")
# Rust writers (safetensors) raise their own exception type with the OS message inside.
_DISK_FULL_TEXT = ("No space left on device", "Disk quota exceeded", "os error 28")


def is_disk_full(err: BaseException) -> bool:
    """True when ``err`` says the disk or the quota filled up, whichever library raised it."""
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(err)
    return any(part in text for part in _DISK_FULL_TEXT) or bool(_SHORT_WRITE.search(text))


@contextmanager
def disk_full_as_error(path: str | os.PathLike) -> Iterator[None]:
    """Turn a full-disk failure inside the block into a one-line :class:`DiskFullError`
    naming ``path``; any other exception passes through unchanged."""
    try:
        yield
    except DiskFullError:
        raise
    except Exception as err:
        if is_disk_full(err):
            raise DiskFullError(f"{path}: no space left on device") from err
        raise


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
    with disk_full_as_error(path):
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix + ".tmp", dir=path.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        try:
            # mkstemp makes the file owner-only; give it the mode a plain open() would.
            os.chmod(tmp_path, 0o666 & ~_UMASK)
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
    with disk_full_as_error(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
        try:
            os.chmod(tmp, 0o777 & ~_UMASK)  # mkdtemp makes it owner-only
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


LOCK_FILE = ".lock"


def _lock_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    except OSError:
        return "another process"
    return f"process {text}" if text.isdigit() else "another process"


@contextmanager
def folder_lock(folder: str | os.PathLike, what: str = "folder") -> Iterator[Path]:
    """Hold an exclusive lock on ``folder`` (created if missing) for the block.

    The lock is ``fcntl.flock`` on ``folder/.lock``, which holds the holder's pid; the
    kernel releases it when the holder exits, however it dies, so a stale lock file
    never blocks. A second holder, in this process or another, gets :class:`LockedError`
    at once (no waiting), naming ``what`` and the holder's pid. Not re-entrant. Yields
    the folder's path.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as err:
        raise LockedError(f"{folder}: cannot lock the {what} ({err.strerror or err})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise LockedError(
                    f"{folder}: cannot lock the {what} ({err.strerror or err})"
                ) from None
            raise LockedError(
                f"{folder}: {_lock_holder(fd)} is writing this {what}; wait for it to "
                "finish or stop it, then run again"
            ) from None
        # The pid is informative (for the message above); the flock itself is the lock.
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        except OSError:
            pass
        yield folder
        try:
            os.ftruncate(fd, 0)  # no stale pid for the next reader
        except OSError:
            pass
    finally:
        # Closing the descriptor releases the flock. The file stays: unlinking it would
        # let a process that opened the old file and one that creates a new one both lock.
        os.close(fd)


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
