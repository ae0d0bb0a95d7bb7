"""Where the vector stage writes: output paths checked before minutes of tracing, folders
made with a clear error, finished files readable by all."""

from __future__ import annotations

import os
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
