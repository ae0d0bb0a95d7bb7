"""Where the vector stage writes: output paths checked before minutes of tracing, folders
made with a clear error, finished files readable by all, and the rule for ``--force``: it
replaces only a file the command itself made, recognised by the command's own marker,
never a user's file."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from hangulgan.errors import VectorError


def readable_by_all(path: str | Path) -> None:
    """Give a finished temporary file the mode a plain ``open`` would have (0666 less the
    umask): mkstemp makes it 0600, and a font or specimen only its owner can read cannot
    be installed system-wide or served to a browser."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def check_output_path(out: str | Path) -> Path:
    """Fail early (before minutes of tracing) when ``out`` cannot be written; missing parent
    folders are created."""
    out = Path(out)
    parent = out.parent if str(out.parent) else Path(".")
    if out.is_dir():
        raise VectorError(f"{out}: is a folder; name the font file to write")
    make_folder(parent, f"{out}: cannot create folder {parent}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise VectorError(f"{out}: no write permission in {parent}")
    if out.exists() and not os.access(out, os.W_OK):
        raise VectorError(f"{out}: exists and is not writable")
    return out


def make_folder(folder: Path, context: str) -> None:
    """Create ``folder`` and its missing parents; VectorError starting with ``context``."""
    if folder.is_dir():
        return
    if folder.exists():
        raise VectorError(f"{context} (a file of that name is in the way)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise VectorError(f"{context} ({err.strerror or err})") from None


def check_replaceable(
    path: Path, force: bool, ours: Callable[[Path], bool], what: str, hint: str = ""
) -> None:
    """Raise VectorError unless ``path`` may be written: it does not exist, or ``force`` is
    given and ``ours(path)`` recognises it as ``what`` (e.g. "a font export-ttf made").
    ``hint`` adds other ways out to the message (e.g. ", or use --no-specimen")."""
    if not path.exists() and not path.is_symlink():
        return
    if path.is_dir():
        raise VectorError(f"{path}: is a folder; name the file to write")
    if not force:
        raise VectorError(f"{path}: already exists (replace it with --force{hint})")
    if path.is_symlink() or not path.is_file() or not ours(path):
        raise VectorError(
            f"{path}: exists and is not {what}; --force replaces only those, so move it "
            f"away or write elsewhere{hint}"
        )
