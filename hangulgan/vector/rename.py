"""Give a modified font a family of its own.

A completed font installed beside its source must not claim the source's names: desktops
and browsers would take one for the other (same family, same PostScript name), and a
font under the SIL Open Font License may not keep a Reserved Font Name once modified.
:func:`rename_family` rewrites the records that identify the font (name IDs 1, 3, 4, 6, 16,
18 and 21) in every language the source spells them in, and keeps the style (IDs 2 and 17)
as it is, so both stay consistent with the new family.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hangulgan.errors import VectorError
from hangulgan.vector.names import check_name_string, english_names, ps_chars

WINDOWS, MAC = 3, 1
ENGLISH_US = 0x409
RIBBI = ("regular", "italic", "bold", "bold italic")
SUFFIX = "Complete"  # what the default family adds to the source's
# the end of the unique identifier (name ID 3) of every font ``complete`` writes: how
# `complete --force` knows a font at --out is one it made
COMPLETED_MARK = "completed by hangulgan"


@dataclass(frozen=True)
class FamilyNames:
    """What :func:`rename_family` wrote (the English, or first, spelling)."""

    source_family: str
    family: str
    style: str
    full_name: str
    postscript_name: str


def _records(font: Any) -> list[Any]:
    return list(font["name"].names) if "name" in font else []


def _legacy(family: str, style: str) -> str:
    """The legacy family name (ID 1): the family, with the style for a non-RIBBI one."""
    return family if style.lower() in RIBBI else f"{family} {style}"


def _english(font: Any, name_id: int) -> str:
    """The record ``name_id`` in US English on Windows, else any Windows, else any."""
    found = [r for r in _records(font) if r.nameID == name_id]
    for test in (
        lambda r: r.platformID == WINDOWS and r.langID == ENGLISH_US,
        lambda r: r.platformID == WINDOWS,
        lambda _r: True,
    ):
        for record in found:
            if test(record):
                try:
                    return record.toUnicode().strip()
                except UnicodeDecodeError:
                    continue
    return ""


def _swap_prefix(value: str, old: str, new: str, fallback: str) -> str:
    """``value`` with its leading ``old`` family replaced by ``new``; ``fallback`` when it
    does not start with it."""
    return new + value[len(old) :] if old and value.startswith(old) else fallback


def _postscript_name(family: str, style: str, source_family: str) -> str:
    """``Family-Style`` in the PostScript alphabet; a family spelt without ASCII (a Korean
    name) gets a stable hash of its spelling, so two such fonts never share one."""
    stem = family.removesuffix(f" {SUFFIX}") if source_family else family
    base = ps_chars(family)
    if not ps_chars(stem):
        digest = hashlib.sha1(family.encode()).hexdigest()[:8].upper()
        base = f"Hangulgan{digest}{SUFFIX if source_family else ''}"
    return f"{base}-{ps_chars(style) or 'Regular'}"[:63]


def rename_family(font: Any, family: str | None, label: str, revision: float) -> FamilyNames:
    """Rename ``font``'s family in place to ``family`` (default: the source family followed
    by ``Complete``, in each language the source names it in) and write a PostScript name
    and unique identifier of its own. ``label`` names the source font in errors.

    Raises VectorError for a family no name table can hold, or one whose names would be
    the source's own."""
    source_family = _english(font, 16) or _english(font, 1) or label
    style = _english(font, 17) or _english(font, 2) or "Regular"
    old_ps = _english(font, 6)
    if family is not None:
        family = family.strip()
        check_name_string("family", family, 63, required=True)
    new_family = family or f"{source_family} {SUFFIX}"
    postscript = _postscript_name(new_family, style, source_family if family is None else "")
    if new_family.casefold() == source_family.casefold() or postscript == old_ps:
        raise VectorError(
            f"--family {new_family!r}: gives the completed font the names of its source "
            f"{label}; choose a family of its own"
        )
    full_name = new_family if style.lower() == "regular" else f"{new_family} {style}"
    vendor = str(getattr(font["OS/2"], "achVendID", "")).strip() if "OS/2" in font else ""
    unique = f"{revision:.3f};{vendor or 'NONE'};{postscript};{COMPLETED_MARK}"
    if "name" not in font:
        raise VectorError(f"{label}: has no name table to rename")
    table = font["name"]
    groups: dict[tuple[int, int, int], dict[int, Any]] = {}
    for record in _records(font):
        groups.setdefault((record.platformID, record.platEncID, record.langID), {})[
            record.nameID
        ] = record
    for key, by_id in groups.items():
        texts = {}
        for name_id, record in by_id.items():
            try:
                texts[name_id] = record.toUnicode()
            except UnicodeDecodeError:
                texts[name_id] = ""
        old = texts.get(16) or texts.get(1) or source_family
        here = family or f"{old} {SUFFIX}"
        here_style = texts.get(17) or texts.get(2) or style
        full = here if here_style.lower() == "regular" else f"{here} {here_style}"
        wanted = {
            1: _swap_prefix(texts.get(1, ""), old, here, _legacy(here, here_style)),
            3: unique,
            4: _swap_prefix(texts.get(4, ""), old, here, full),
            6: postscript,
            16: here,
            18: _swap_prefix(texts.get(18, ""), old, here, full),
            21: _swap_prefix(texts.get(21, ""), old, here, here),
        }
        for name_id, value in wanted.items():
            record = by_id.get(name_id)
            if record is None:
                continue
            platform, encoding, language = key
            if platform == MAC:
                try:
                    value.encode("mac_roman")
                except UnicodeEncodeError:
                    # a Mac record in Mac Roman cannot spell it: leave the name to Windows'
                    table.removeNames(name_id, platform, encoding, language)
                    continue
            record.string = value
    # every font names itself in US English on Windows: write what the source lacked there
    legacy_style = style if style.lower() in RIBBI else "Regular"
    for name_id, value in (
        (1, _legacy(new_family, style)),
        (2, legacy_style),
        (3, unique),
        (4, full_name),
        (6, postscript),
    ):
        if table.getName(name_id, WINDOWS, 1, ENGLISH_US) is None:
            table.setName(value, name_id, WINDOWS, 1, ENGLISH_US)
    return FamilyNames(source_family, new_family, style, full_name, postscript)


def is_completed_font(path: str | Path) -> bool:
    """True when ``path`` is a font ``complete`` wrote (its unique identifier ends with
    :data:`COMPLETED_MARK`)."""
    return english_names(path).get(3, "").endswith(COMPLETED_MARK)
