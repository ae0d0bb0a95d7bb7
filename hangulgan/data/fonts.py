"""Font discovery: which faces a set of paths holds, what they cover, and which of them
draw the same Hangul (kept once, from the soundest file).

A face and its identity are described in :mod:`hangulgan.data.face`; web fonts split
over subset files are joined into one face by :mod:`hangulgan.data.webfonts` first.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import freetype
import numpy as np

from hangulgan import hangul
from hangulgan.data.face import (
    OUTLINE_LOAD,
    FaceInfo,
    SkippedFont,
    drawing_signature,
    face_label,
)
from hangulgan.data.ftlayout import ensure_layout
from hangulgan.data.render import ft_error_text
from hangulgan.data.webfonts import SplitFaceInfo, merge_split_faces
from hangulgan.errors import FontError

ensure_layout()  # freetype-py's structures must be laid out as FreeType's (see ftlayout)

# .woff: web fonts, often one face split over subset files (see data/webfonts.py).
FONT_SUFFIXES = {".ttf", ".otf", ".ttc", ".otc", ".woff"}


def discover_font_files(paths: list[str | Path]) -> tuple[list[Path], list[SkippedFont]]:
    """Font files under ``paths`` (files taken as given, folders searched recursively)."""
    files: list[Path] = []
    skipped: list[SkippedFont] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in FONT_SUFFIXES
            )
            if not found:
                skipped.append(SkippedFont(path, "folder holds no .ttf/.otf/.ttc/.otc/.woff file"))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            skipped.append(SkippedFont(path, "no such file or folder"))
    unique = list(dict.fromkeys(p.resolve() for p in files))
    return unique, skipped


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _decode(value: bytes | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _licence(path: Path, index: int) -> str:
    from fontTools.ttLib import TTFont

    try:
        with fonttools_quiet(), TTFont(str(path), fontNumber=index, lazy=True) as font:
            if "name" not in font:
                return ""
            names = font["name"]
            text = names.getDebugName(13) or ""
            url = names.getDebugName(14) or ""
    except Exception:  # noqa: BLE001 - a licence is informative; its absence is no error
        return ""
    text = " ".join(text.split())
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{text} ({url})" if url and text else (text or url)


@contextmanager
def fonttools_quiet() -> Iterator[None]:
    """Silence fontTools' warnings inside the block: a damaged name table makes it log
    one per record, tens of thousands of lines for one file. The caller reports the
    file's fate once."""
    logger = logging.getLogger("fontTools")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def outline_health(face: freetype.Face, covered: np.ndarray) -> tuple[int, int]:
    """(faults, drawn) over the glyphs of ``covered``: faults are glyphs FreeType cannot
    load, whose outline reaches beyond four em from the origin (garbage points) or whose
    advance is not positive or beyond four em; drawn are the others with at least one
    point. Picks the sound one among copies of a font."""
    limit = 4 * max(int(face.units_per_EM), 16)
    faults = drawn = 0
    for cp in covered.tolist():
        gid = face.get_char_index(int(cp))
        try:
            face.load_glyph(gid, OUTLINE_LOAD)
        except freetype.FT_Exception:
            faults += 1
            continue
        outline = face.glyph.outline
        if not outline.n_points:
            continue
        box = outline.get_bbox()
        advance = face.glyph.metrics.horiAdvance
        if max(abs(box.xMin), abs(box.xMax), abs(box.yMin), abs(box.yMax)) > limit:
            faults += 1
        elif not 0 < advance <= limit:  # a syllable always advances, by about an em
            faults += 1
        else:
            drawn += 1
    return faults, drawn


def _open_face(path: Path, index: int) -> freetype.Face:
    try:
        return freetype.Face(str(path), index)
    except freetype.FT_Exception as err:
        reason = ft_error_text(err)
        if "unknown file format" in reason.lower():
            reason = "not a font file FreeType can read"
        raise FontError(f"{path}: {reason}") from None
    except OSError as err:
        raise FontError(f"{path}: cannot read ({err.strerror or err})") from None


def _face_indices(path: Path, first: freetype.Face, instances: bool) -> list[int]:
    """FreeType face indices: every face of a collection, and with ``instances`` the named
    instances of variable faces (index | instance << 16; instance 0 is the default)."""
    indices = []
    for index in range(max(1, first.num_faces)):
        indices.append(index)
        if not instances:
            continue
        try:
            face = first if index == 0 else _open_face(path, index)
        except FontError:
            continue  # reported when the face itself is inspected
        if face.face_flags & freetype.FT_FACE_FLAG_MULTIPLE_MASTERS:
            indices.extend(index | (n << 16) for n in range(1, (face.style_flags >> 16) + 1))
    return indices


def _inspect_face(
    path: Path, index: int, face: freetype.Face, charset: np.ndarray, sha: str, num_faces: int
) -> FaceInfo | SkippedFont:
    label = face_label(path, index, num_faces)
    if not face.is_scalable:
        return SkippedFont(label, "bitmap-only face, no outlines")
    get = face.get_char_index
    mapped = np.fromiter((get(int(cp)) != 0 for cp in charset), dtype=bool, count=len(charset))
    covered = charset[mapped]
    family = _decode(face.family_name)
    style = _decode(face.style_name)
    if not covered.size:
        return SkippedFont(
            label,
            f"{family} {style}: no Hangul syllable of the charset",
            names=(family, style, _decode(face.postscript_name)),
        )
    return FaceInfo(
        path=path,
        index=index,
        family=family,
        style=style,
        postscript_name=_decode(face.postscript_name),
        file_sha256=sha,
        num_faces=num_faces,
        covered=covered,
        licence=_licence(path, index & 0xFFFF),
        signature=drawing_signature(face, covered),
    )


def inspect_font_file(
    path: Path, charset: list[int] | np.ndarray, instances: bool = False
) -> tuple[list[FaceInfo], list[SkippedFont]]:
    """Every face of a font file with its coverage of ``charset``; faces without Hangul skip.

    Variable fonts give their default instance; with ``instances`` also each named one.
    A face FreeType cannot read is listed as skipped with FreeType's reason; FontError
    only when the file as a whole cannot be opened.
    """
    path = Path(path)
    first = _open_face(path, 0)
    num_faces = max(1, first.num_faces)
    try:
        sha = file_sha256(path)
    except OSError as err:
        raise FontError(f"{path}: cannot read ({err.strerror or err})") from None
    charset = np.asarray(charset, dtype=np.int32)
    faces: list[FaceInfo] = []
    skipped: list[SkippedFont] = []
    for index in _face_indices(path, first, instances):
        try:
            face = first if index == 0 else _open_face(path, index)
            found = _inspect_face(path, index, face, charset, sha, num_faces)
        except FontError as err:
            found = SkippedFont(face_label(path, index, num_faces), str(err).split(": ", 1)[-1])
        except freetype.FT_Exception as err:
            found = SkippedFont(face_label(path, index, num_faces), ft_error_text(err))
        (faces if isinstance(found, FaceInfo) else skipped).append(found)
    return faces, skipped


def slug(text: str) -> str:
    """A file-system-safe face name: ASCII letters, digits, '-', '_', '.'."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    return cleaned or "face"


def assign_face_ids(faces: list[FaceInfo]) -> None:
    """Give every face a unique, stable, file-system-safe id (PostScript name first)."""
    taken: set[str] = set()
    for info in faces:
        base = slug(info.postscript_name or f"{info.family}-{info.style}")
        if base == "face":
            base = slug(f"{info.path.stem}-{info.index}")
        candidate, n = base, 2
        while candidate.lower() in taken:
            candidate, n = f"{base}-{n}", n + 1
        taken.add(candidate.lower())
        info.face_id = candidate


def _korean_first(info: FaceInfo) -> int:
    # Among faces drawing the same Hangul, name the stored one after its Korean variant.
    text = f"{info.family} {info.postscript_name}"
    return 0 if (" KR" in text or "CJKkr" in text or "Korean" in text) else 1


def _soundness(info: FaceInfo) -> tuple[int, int]:
    """(faults, -drawn) of a face's Hangul outlines: lower is sounder."""
    # A web font's face spread over subset files adds its parts.
    parts = info.parts if isinstance(info, SplitFaceInfo) else [info]
    faults = drawn = 0
    for part in parts:
        try:
            part_faults, part_drawn = outline_health(
                _open_face(part.path, part.index), part.covered
            )
        except FontError:
            return len(info.covered) + 1, 0
        faults, drawn = faults + part_faults, drawn + part_drawn
    return faults, -drawn


def deduplicate(faces: list[FaceInfo]) -> tuple[list[FaceInfo], list[SkippedFont]]:
    """Keep one face per drawing signature; list the others as duplicates.

    Among copies in different files (a damaged copy signs like the intact one when its
    sample glyphs survive) the soundest is kept: fewest glyphs that fail to load, then
    most drawn; among equally sound faces, the Korean variant, then the first found.
    """
    groups: dict[str, list[FaceInfo]] = {}
    for info in faces:
        groups.setdefault(info.signature, []).append(info)
    chosen = {}
    for sig, group in groups.items():
        if len({info.file_sha256 for info in group}) > 1:
            # Loading every outline costs ~0.1 s a face: only where files differ.
            health = {id(info): _soundness(info) for info in group}
            ranked = sorted(group, key=lambda info: (health[id(info)], _korean_first(info)))
            keeper = chosen[sig] = ranked[0]
            seen = {keeper.file_sha256}
            for info in ranked[1:]:
                if info.file_sha256 not in seen:  # faces of one file share their glyphs
                    seen.add(info.file_sha256)
                    keeper.alternates.append(info)
        else:
            chosen[sig] = min(group, key=_korean_first)
    kept: list[FaceInfo] = []
    dupes: list[SkippedFont] = []
    for info in faces:
        keeper = chosen[info.signature]
        if info is keeper:
            kept.append(info)
        else:
            dupes.append(
                SkippedFont(
                    face_label(info.path, info.index, info.num_faces),
                    f"{info.display_name}: same Hangul drawings as {keeper.display_name}"
                    + (f" ({keeper.path.name})" if keeper.path != info.path else ""),
                    duplicate=True,
                )
            )
    return kept, dupes


def collect_faces(
    paths: list[str | Path], charset: list[int] | None = None, instances: bool = False
) -> tuple[list[FaceInfo], list[SkippedFont]]:
    """Discover, inspect and de-duplicate the faces under ``paths``; list what was skipped."""
    charset = hangul.all_syllables() if charset is None else charset
    files, skipped = discover_font_files(paths)
    faces: list[FaceInfo] = []
    for path in files:
        try:
            found, passed = inspect_font_file(path, charset, instances)
        except FontError as err:
            skipped.append(SkippedFont(path, str(err).split(": ", 1)[-1]))
            continue
        faces.extend(found)
        skipped.extend(passed)
    faces = merge_split_faces(faces)
    split = {
        (info.path, info.family, info.style, info.postscript_name)
        for info in faces
        if isinstance(info, SplitFaceInfo)
    }
    skipped = [s for s in skipped if not s.names or (Path(s.path).parent, *s.names) not in split]
    faces, dupes = deduplicate(faces)
    skipped.extend(dupes)
    assign_face_ids(faces)
    return faces, skipped
