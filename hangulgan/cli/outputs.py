"""What a command's ``--force`` may replace: only an output it made itself, known by the
mark it leaves (a glyph set's ``meta.source``, a PNG's Software text), never a user's file
or folder that merely has the same name."""

from __future__ import annotations

import json
from collections.abc import Callable
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


def check_file_out(
    path: Path, force: bool, option: str, ours: Callable[[Path], bool], kind: str
) -> None:
    """ConfigError unless ``path`` may receive an output file: a new file, or with ``force``
    one that ``ours`` recognises as this command's own. ``kind`` (a key of :data:`KINDS`)
    words the messages."""
    takes, made, replaced = KINDS[kind]
    if not path.exists():
        return
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder; {option} takes the {takes} to write")
    if not force:
        raise ConfigError(f"{path}: already exists (replace it with --force)")
    if not ours(path):
        raise ConfigError(
            f"{path}: not {made}; --force replaces only such {replaced}, never another file"
        )


KINDS = {
    "page": ("file", "a page that hangulgan wrote", "a page"),
    "png": ("PNG file", "a grid that hangulgan drew", "a PNG"),
    "report": ("file", "a report that hangulgan wrote", "a report"),
}


def check_page_out(path: Path, force: bool, head: str, option: str) -> None:
    """ConfigError unless ``path`` may receive a text page that begins with ``head``: a new
    file, or with ``force`` a file that begins with it (one the same command wrote)."""

    def begins_with_head(found: Path) -> bool:
        try:
            with open(found, "rb") as handle:
                start = handle.read(len(head.encode("utf-8")))
        except OSError as err:
            raise ConfigError(f"{found}: cannot read ({err.strerror or err})") from None
        return start == head.encode("utf-8")

    check_file_out(path, force, option, begins_with_head, "page")


def check_png_out(path: Path, force: bool, option: str = "--out") -> None:
    """ConfigError unless ``path`` may receive a PNG that hangulgan draws: a new file, or
    with ``force`` a PNG that hangulgan drew (:func:`~hangulgan.train.grid.drawn_by_hangulgan`)."""
    from hangulgan.train.grid import drawn_by_hangulgan

    check_file_out(path, force, option, drawn_by_hangulgan, "png")


def check_json_out(path: Path, force: bool, fmt: str, option: str) -> None:
    """ConfigError unless ``path`` may receive a JSON report whose ``format`` is ``fmt``: a
    new file, or with ``force`` a JSON file of that format (one the same command wrote)."""

    def has_format(found: Path) -> bool:
        try:
            report = json.loads(found.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(report, dict) and report.get("format") == fmt

    check_file_out(path, force, option, has_format, "report")
