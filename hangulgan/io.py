"""Atomic writes (a reader sees either the old file or the whole new one, never half), and
a per-folder lock so that one writer at a time works in a corpus or run folder.

A write that fills the disk raises :class:`~hangulgan.errors.DiskFullError`
("PATH: no space left on device") whatever library did the writing, and leaves the
earlier file (or folder) as it was.

What hangulgan writes carries proof that it made it, so that cleaning up and ``--force``
never touch a user's file:

* a temporary is named by :func:`temp_path`, ``.NAME.KIND-PID-TOKEN.hangulgan.tmp``: the
  process that made it and a random token, a name no user file has by accident;
  :func:`remove_stale_temporaries` removes only such names, and only those whose process
  is gone;
* a folder a command made can carry its mark (:func:`mark_made`, or ``atomic_dir(...,
  mark=...)`` before the folder appears), which :func:`made_by` recognises.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import secrets
import shutil
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


# A temporary's name (see temp_path): ".NAME.KIND-PID-TOKEN.hangulgan[SUFFIX].tmp".
TEMP_TAG = "hangulgan"
_TEMP_NAME = re.compile(
    rf"^\.(?P<target>.+)\.(?P<kind>[a-z]+)-(?P<pid>\d+)-[0-9a-f]{{8}}\.{TEMP_TAG}"
    r"(?:\.[\w-]{1,16})?\.tmp$"
)


def temp_path(path: str | os.PathLike, kind: str = "new", suffix: str = "") -> Path:
    """A fresh name beside ``path`` for a temporary of this process:
    ``.NAME.KIND-PID-TOKEN.hangulgan[SUFFIX].tmp``. The pid and the random token prove who
    made it (:func:`remove_stale_temporaries`); ``kind`` (lower-case letters) says what it
    is (``new``, ``old``, ``merge``); ``suffix`` (e.g. ``.png``) is kept when it is a plain
    extension. Nothing is created."""
    path = Path(path)
    if not re.fullmatch(r"[a-z]+", kind):
        raise ValueError(f"temp_path: kind {kind!r} must be lower-case letters")
    if not re.fullmatch(r"\.[\w-]{1,16}", suffix):
        suffix = ""  # only a hint to the writer: an odd one is left out
    token = secrets.token_hex(4)
    return path.with_name(f".{path.name}.{kind}-{os.getpid()}-{token}.{TEMP_TAG}{suffix}.tmp")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """The temporaries in ``folder`` (not below it) that hangulgan made (named by
    :func:`temp_path`, files or folders, never links) and whose process is gone, or is this
    one (an earlier call that was interrupted: only call this while no write of this
    process is under way in ``folder``, e.g. at the start of a :func:`folder_lock`)."""
    folder = Path(folder)
    try:
        entries = list(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    stale = []
    for entry in sorted(entries):
        match = _TEMP_NAME.match(entry.name)
        if match is None or entry.is_symlink():
            continue
        pid = int(match["pid"])
        if pid == os.getpid() or not _process_alive(pid):
            stale.append(entry)
    return stale


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove :func:`stale_temporaries` of ``folder``; return what was removed."""
    removed = []
    for entry in stale_temporaries(folder):
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


MARK_FILE = ".hangulgan-made"


def mark_made(folder: str | os.PathLike, maker: str) -> None:
    """Mark ``folder`` as made by ``maker`` (a command, e.g. ``"render"``): a small file
    inside it, which :func:`made_by` reads. Write it before the folder appears (into the
    temporary of :func:`atomic_dir`), so no made folder is ever unmarked."""
    (Path(folder) / MARK_FILE).write_text(f"{maker}\n", encoding="utf-8")


def made_by(folder: str | os.PathLike, maker: str) -> bool:
    """Whether ``folder`` is a real folder (not a link) that ``maker`` marked as its own."""
    folder = Path(folder)
    if folder.is_symlink() or not folder.is_dir():
        return False
    try:
        text = (folder / MARK_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return text.strip() == maker


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (named by :func:`temp_path`, ending in
    ``suffix`` + ``.tmp``); it replaces ``path`` if the block succeeds."""
    path = Path(path)
    with disk_full_as_error(path):
        while True:
            tmp_path = temp_path(path, "new", suffix)
            try:
                # O_EXCL: a new file of this process; 0o666 less the umask, as open() gives
                os.close(
                    os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
                )
                break
            except FileExistsError:
                continue
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
def atomic_dir(
    path: str | os.PathLike, replace: bool = False, mark: str | None = None
) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; it becomes ``path`` only if the block succeeds.

    With ``replace`` an existing folder at ``path`` is swapped out after the new one is whole
    (the caller decides whether it may be: see :func:`made_by`). With ``mark`` the new
    folder carries that maker's mark (:func:`mark_made`) from the start.
    """
    path = Path(path)
    with disk_full_as_error(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            tmp = temp_path(path, "new")
            try:
                os.mkdir(tmp, 0o777)  # less the umask, as a plain mkdir gives
                break
            except FileExistsError:
                continue
        try:
            if mark is not None:
                mark_made(tmp, mark)
            yield tmp
            if path.exists():
                if not replace:
                    raise FileExistsError(f"{path}: already exists")
                old = temp_path(path, "old")
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


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd``."""
    try:
        held, named = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino)


def _take_lock(folder: Path, what: str) -> int:
    """Open and flock ``folder/.lock``; return its descriptor (see :func:`folder_lock`)."""
    path = folder / LOCK_FILE
    while True:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as err:
            raise LockedError(f"{folder}: cannot lock the {what} ({err.strerror or err})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            holder = _lock_holder(fd)
            os.close(fd)
            if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise LockedError(
                    f"{folder}: cannot lock the {what} ({err.strerror or err})"
                ) from None
            raise LockedError(
                f"{folder}: {holder} is writing this {what}; wait for it to "
                "finish or stop it, then run again"
            ) from None
        if _same_file(fd, path):
            return fd
        # The last holder removed the file between our open and our flock: the lock taken
        # is on a file nobody else can open any more. Take the one the path names now.
        os.close(fd)


@contextmanager
def folder_lock(folder: str | os.PathLike, what: str = "folder") -> Iterator[Path]:
    """Hold an exclusive lock on ``folder`` (created if missing) for the block.

    The lock is ``fcntl.flock`` on ``folder/.lock``, which holds the holder's pid. A second
    holder, in this process or another, gets :class:`LockedError` at once (no waiting),
    naming ``what`` and the holder's pid. Not re-entrant. Yields the folder's path.

    The lock file goes when the block ends, however it ends (an error, Ctrl-C, or SIGTERM
    where the command turns it into an exception); it is removed while still locked, and
    a process that opened it just before takes the lock only once it sees the path still
    names the file it locked. Only a process killed outright (SIGKILL) leaves it behind,
    and then the kernel has released the flock, so it never blocks the next writer.
    """
    folder = Path(folder)
    fd = _take_lock(folder, what)
    try:
        # The pid is informative (for the message above); the flock itself is the lock.
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        except OSError:
            pass
        yield folder
    finally:
        path = folder / LOCK_FILE
        try:
            if _same_file(fd, path):
                path.unlink()
        except OSError:
            try:
                os.ftruncate(fd, 0)  # it stays: at least no stale pid for the next reader
            except OSError:
                pass
        os.close(fd)  # releases the flock


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
