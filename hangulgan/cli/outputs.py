"""What a command's ``--force`` may replace: only an output it made itself, known by the
mark it leaves (a glyph set's ``meta.source``, a PNG's Software text), never a user's file
or folder that merely has the same name."""

from __future__ import annotations

import json
from pathlib import Path

from hangulgan.errors import ConfigError


def glyphset_meta(folder: Path) -> dict | None:
    """The ``meta`` of the glyph set header in ``folder``; None when the folder holds no
    hangulgan glyph set header (a user's folder, or a file of that name with other content)."""
    from hangulgan.data.glyphset import GLYPHSET_FORMAT, META_FILE

    try:
        header = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(header, dict) or header.get("format") != GLYPHSET_FORMAT:
        return None
    meta = header.get("meta")
    return meta if isinstance(meta, dict) else None


def check_page_out(path: Path, force: bool, head: str, option: str) -> None:
    """ConfigError unless ``path`` may receive a text page that begins with ``head``: a new
    file, or with ``force`` a file that begins with it (one the same command wrote)."""
    if not path.exists():
        return
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder; {option} takes the file to write")
    if not force:
        raise ConfigError(f"{path}: already exists (replace it with --force)")
    try:
        with open(path, "rb") as handle:
            start = handle.read(len(head.encode("utf-8")))
    except OSError as err:
        raise ConfigError(f"{path}: cannot read ({err.strerror or err})") from None
    if start != head.encode("utf-8"):
        raise ConfigError(
            f"{path}: not a page that hangulgan wrote; --force replaces only such a page, "
            "never another file"
        )


def check_png_out(path: Path, force: bool, option: str = "--out") -> None:
    """ConfigError unless ``path`` may receive a PNG that hangulgan draws: a new file, or
    with ``force`` a PNG that hangulgan drew (:func:`~hangulgan.train.grid.drawn_by_hangulgan`)."""
    if not path.exists():
        return
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder; {option} takes the PNG file to write")
    if not force:
        raise ConfigError(f"{path}: already exists (replace it with --force)")
    from hangulgan.train.grid import drawn_by_hangulgan

    if not drawn_by_hangulgan(path):
        raise ConfigError(
            f"{path}: not a grid that hangulgan drew; --force replaces only such a PNG, "
            "never another file"
        )


def check_json_out(path: Path, force: bool, fmt: str, option: str) -> None:
    """ConfigError unless ``path`` may receive a JSON report whose ``format`` is ``fmt``: a
    new file, or with ``force`` a JSON file of that format (one the same command wrote)."""
    if not path.exists():
        return
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder; {option} takes the file to write")
    if not force:
        raise ConfigError(f"{path}: already exists (replace it with --force)")
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        found = None
    if not isinstance(found, dict) or found.get("format") != fmt:
        raise ConfigError(
            f"{path}: not a report that hangulgan wrote; --force replaces only such a "
            "report, never another file"
        )
