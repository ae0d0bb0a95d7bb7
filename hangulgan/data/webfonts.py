"""Web fonts split over unicode-range subset files, read as one face.

A web-font package (e.g. npm's ``@fontsource/gaegu``) ships each weight as ~120 WOFF
files, each mapping a slice of the code points: same family, style and PostScript name,
different coverage. :func:`merge_split_faces` joins such files, when they lie in one
folder, into a :class:`SplitFaceInfo` whose coverage is the union of theirs, and
:class:`SplitFaceRenderer` draws each syllable from the file that maps it. Everything
downstream (dedup, face ids, the corpus) sees one face.

Files merge only when they *complement* each other: same folder, names and units per
em, and no single file covers what the group covers. Two copies or versions of a whole
font in one folder therefore stay separate faces (and de-duplication sees them).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import freetype
import numpy as np

from hangulgan.data.face import FaceInfo, drawing_signature
from hangulgan.data.render import FaceRenderer, RenderResult
from hangulgan.errors import FontError


@dataclass
class FacePart:
    """One subset file of a split face and the syllables it maps."""

    path: Path
    index: int
    covered: np.ndarray


@dataclass
class SplitFaceInfo(FaceInfo):
    """A face spread over subset files; ``path`` is their folder, ``parts`` the files."""

    parts: list[FacePart] = field(default_factory=list)


class _PartsFace:
    """Just enough of ``freetype.Face`` for :func:`face.drawing_signature` over several files:
    a code point's lookup picks the part that maps it, and the glyph load that follows
    goes to that part. A whole font cut into subsets therefore signs like the whole."""

    def __init__(self, faces: list[freetype.Face]) -> None:
        self._faces = faces
        self._current = faces[0]

    def get_char_index(self, codepoint: int) -> int:
        for face in self._faces:
            gid = face.get_char_index(codepoint)
            if gid:
                self._current = face
                return gid
        return 0

    def load_glyph(self, gid: int, flags: int) -> None:
        self._current.load_glyph(gid, flags)

    @property
    def glyph(self):
        return self._current.glyph


def _units_per_em(path: Path, index: int) -> int:
    try:
        return int(freetype.Face(str(path), index).units_per_EM)
    except freetype.FT_Exception as err:
        raise FontError(f"{path}: FreeType cannot open face {index} ({err})") from None


def _merge(group: list[FaceInfo]) -> SplitFaceInfo:
    group = sorted(group, key=lambda info: str(info.path))
    covered = np.unique(np.concatenate([info.covered for info in group])).astype(np.int32)
    first = group[0]
    digest = hashlib.sha256()
    for info in group:
        digest.update(info.file_sha256.encode())
    parts = [FacePart(info.path, info.index, info.covered) for info in group]
    faces = [freetype.Face(str(part.path), part.index) for part in parts]
    return SplitFaceInfo(
        path=first.path.parent,
        index=0,
        family=first.family,
        style=first.style,
        postscript_name=first.postscript_name,
        file_sha256=digest.hexdigest(),
        num_faces=1,
        covered=covered,
        # Subset files often keep only the licence URL, and only in some files.
        licence=next((info.licence for info in group if info.licence), ""),
        signature=drawing_signature(_PartsFace(faces), covered),
        parts=parts,
    )


def merge_split_faces(faces: list[FaceInfo]) -> list[FaceInfo]:
    """Join the faces that are subset files of one face (see the module doc); keep order.

    A merged face takes the place of its first file in the list.
    """
    groups: dict[tuple, list[FaceInfo]] = {}
    for info in faces:
        if info.num_faces != 1 or isinstance(info, SplitFaceInfo):
            continue  # collections and variable instances are whole faces already
        key = (info.path.parent, info.family, info.style, info.postscript_name)
        groups.setdefault(key, []).append(info)
    replaced: dict[int, FaceInfo | None] = {}
    for group in groups.values():
        if len(group) < 2:
            continue
        union = np.unique(np.concatenate([info.covered for info in group]))
        if max(len(info.covered) for info in group) >= len(union):
            continue  # one file covers it all: copies or versions, not subsets
        by_upm: dict[int, list[FaceInfo]] = {}
        for info in group:
            by_upm.setdefault(_units_per_em(info.path, info.index), []).append(info)
        for members in by_upm.values():
            if len(members) < 2:
                continue
            merged = _merge(members)
            for position, info in enumerate(members):
                replaced[id(info)] = merged if position == 0 else None
    out: list[FaceInfo] = []
    for info in faces:
        if id(info) not in replaced:
            out.append(info)
        elif replaced[id(info)] is not None:
            out.append(replaced[id(info)])
    return out


class SplitFaceRenderer:
    """Renders a :class:`SplitFaceInfo` like :class:`FaceRenderer` renders one file:
    each code point from the first part (in path order) whose cmap maps it."""

    def __init__(self, info: SplitFaceInfo, size: int = 32, placement: str = "em") -> None:
        if not info.parts:
            raise FontError(f"{info.path}: split face without subset files")
        self.size = size
        self.placement = placement
        self.renderers = [
            FaceRenderer(str(part.path), part.index, size, placement) for part in info.parts
        ]
        self.geometry = None
        if placement == "em":
            # One geometry for the whole face: each subset file alone would centre its own
            # few syllables' ink and put the baseline on another row than its siblings.
            bottoms: list[int] = []
            tops: list[int] = []
            advances: list[int] = []
            for renderer in self.renderers:
                part_bottoms, part_tops, part_advances = renderer.sample_hangul()
                bottoms += part_bottoms
                tops += part_tops
                advances += part_advances
            first = self.renderers[0].geometry
            row = first.baseline_row
            if tops:
                middle = (np.percentile(bottoms, 1) + np.percentile(tops, 99)) / 2 / 64
                row = float(np.floor(first.canvas / 2 + middle + 0.5))
            self.renderers = [
                FaceRenderer(str(part.path), part.index, size, placement, baseline_row=row)
                for part in info.parts
            ]
            usual = int(np.bincount(advances).argmax()) if advances else first.advance
            self.geometry = replace(first, baseline_row=row, advance=usual)

    def render(self, codepoints: list[int] | np.ndarray) -> RenderResult:
        """Render every code point some part maps, in the order given; see
        :meth:`FaceRenderer.render`."""
        codepoints = np.asarray(codepoints, dtype=np.int32)
        owner = np.full(len(codepoints), -1, dtype=np.int64)
        for number, renderer in enumerate(self.renderers):
            free = np.flatnonzero(owner < 0)
            if not len(free):
                break
            mapped = renderer.glyph_indices(codepoints[free]) != 0
            owner[free[mapped]] = number
        images, drawn, empty, advances = [], [], [], []
        for number in np.unique(owner[owner >= 0]):
            positions = np.flatnonzero(owner == number)
            result = self.renderers[number].render(codepoints[positions])
            images.append(result.images)
            advances.append(result.advances)
            drawn.append(positions[np.isin(codepoints[positions], result.codepoints)])
            empty.append(positions[np.isin(codepoints[positions], result.empty)])
        size = self.size
        if not images:
            return RenderResult(
                images=np.zeros((0, size, size), dtype=np.uint8),
                codepoints=np.zeros(0, dtype=np.int32),
                missing=codepoints,
                empty=np.zeros(0, dtype=np.int32),
            )
        drawn_at = np.concatenate(drawn)
        order = np.argsort(drawn_at, kind="stable")  # back into the caller's order
        empty_at = np.sort(np.concatenate(empty))
        all_advances = np.concatenate(advances)
        return RenderResult(
            images=np.concatenate(images)[order],
            codepoints=codepoints[drawn_at[order]],
            missing=codepoints[owner < 0],
            empty=codepoints[empty_at],
            # advances exist only for the em placement (fit has none)
            advances=all_advances[order] if len(all_advances) else all_advances,
            geometry=self.geometry,
        )


def open_renderer(
    info: FaceInfo, size: int = 32, placement: str = "em"
) -> FaceRenderer | SplitFaceRenderer:
    """The renderer for a face that :func:`fonts.collect_faces` found: one file or many."""
    if isinstance(info, SplitFaceInfo):
        return SplitFaceRenderer(info, size, placement)
    return FaceRenderer(str(info.path), info.index, size, placement)
