"""A corpus: one glyph set per font face, described by ``manifest.json``; and its reader.

Layout::

    corpus/
      manifest.json       format, version, size, placement, geometry, charset, augmentation,
                          faces, skipped
      faces/NAME/         a glyph set folder (see :mod:`hangulgan.data.glyphset`), marked
                          as a rendered face (:data:`FACE_MARK`)

:class:`Corpus` reads one. The writers live apart, each a module of its own:
:mod:`~hangulgan.data.corpus_render` renders fonts into a corpus (settings and manifest
records in :mod:`~hangulgan.data.corpus_manifest`, one face in
:mod:`~hangulgan.data.corpus_face`, the worker processes in
:mod:`~hangulgan.data.corpus_pool`, the damage rule in :mod:`~hangulgan.data.damage`),
:mod:`~hangulgan.data.corpus_merge` joins corpora, and :mod:`~hangulgan.data.sheets`
draws previews.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hangulgan.data.glyphset import GlyphSet
from hangulgan.errors import CorpusError, GlyphSetError
from hangulgan.io import read_folder_header

CORPUS_FORMAT = "hangulgan.corpus"
CORPUS_VERSION = 1
MANIFEST = "manifest.json"
FACES_DIR = "faces"
# The mark (hangulgan.io.mark_made) of a face folder that render wrote: a writer replaces or
# removes only a face folder that carries it or that the manifest lists, never a user's.
FACE_MARK = "render"


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """Read and check ``manifest.json``; CorpusError names the file and the problem."""
    return read_folder_header(
        folder,
        MANIFEST,
        CORPUS_FORMAT,
        CORPUS_VERSION,
        CorpusError,
        "corpus",
        "corpus manifest",
        hint="render the fonts again into a new folder",
        missing_hint="make one with hangulgan render",
    )


class Corpus:
    """A rendered corpus: its manifest and memory-mapped faces."""

    def __init__(self, folder: Path, manifest: dict[str, Any]) -> None:
        self.folder = folder
        self.manifest = manifest

    @classmethod
    def open(cls, folder: str | Path) -> Corpus:
        """Open a corpus folder; CorpusError when missing, malformed or of another version."""
        folder = Path(folder)
        return cls(folder, read_manifest(folder))

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of every glyph."""
        return int(self.manifest["size"]), int(self.manifest["size"])

    @property
    def placement(self) -> str:
        """``em`` or ``fit``."""
        return str(self.manifest["placement"])

    @property
    def face_names(self) -> list[str]:
        """Face ids in manifest order."""
        return list(self.manifest["faces"])

    def face_record(self, name: str) -> dict[str, Any]:
        """The manifest entry of one face."""
        try:
            return self.manifest["faces"][name]
        except KeyError:
            raise CorpusError(self._unknown_face(name)) from None

    def _unknown_face(self, name: str) -> str:
        names = self.face_names
        hint = ", ".join(names[:8]) + (" …" if len(names) > 8 else "")
        return f"{self.folder}: no face named {name!r} (faces: {hint or 'none'})"

    def face(self, name: str, mmap: bool = True, augmented: bool = True) -> GlyphSet:
        """The glyph set of one face (memory-mapped by default)."""
        if name not in self.manifest["faces"]:
            raise CorpusError(self._unknown_face(name))
        try:
            return GlyphSet.load(self.folder / FACES_DIR / name, mmap=mmap, augmented=augmented)
        except GlyphSetError as err:
            raise CorpusError(str(err)) from None

    def faces(self) -> Iterable[tuple[str, GlyphSet]]:
        """(name, glyph set) for every face."""
        for name in self.face_names:
            yield name, self.face(name)


def open_glyphset(ref: str | Path) -> GlyphSet:
    """A glyph set from a folder, or a corpus face written ``CORPUS::FACE``."""
    text = str(ref)
    if "::" in text:
        folder, name = text.rsplit("::", 1)
        return Corpus.open(folder).face(name)
    path = Path(text)
    if (path / MANIFEST).is_file() and not (path / "glyphset.json").is_file():
        corpus = Corpus.open(path)
        raise GlyphSetError(
            f"{path}: is a corpus; name one face as {path}::FACE "
            f"(e.g. {path}::{corpus.face_names[0] if corpus.face_names else 'NAME'})"
        )
    return GlyphSet.load(path)
