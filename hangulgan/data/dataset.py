"""Glyph sets as a torch Dataset with labels, read through memory maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from hangulgan import hangul
from hangulgan.data.corpus import Corpus
from hangulgan.data.glyphset import GlyphSet
from hangulgan.data.placement import placement_meta
from hangulgan.errors import CorpusError


class GlyphDataset(Dataset):
    """Glyphs of one or more glyph sets (the faces of a corpus, usually) with labels.

    Items are dicts: ``image`` float32 1×H×W in [-1, 1] (ink = +1), ``syllable`` (0..11171),
    ``jamo`` (3,) initial/medial/final indices, ``face`` (index into ``face_names``).
    With ``augmented=True`` the stored augmented copies join the clean glyphs.
    It follows the trainer's :class:`~hangulgan.train.contract.TrainingData` protocol, on its
    in-memory fast path (no DataLoader workers: a batch is one gather from memory maps).
    """

    channels = 1
    ink = True
    loader_workers = 0
    batch_keys = ("image", "syllable", "jamo", "face")

    def __init__(
        self,
        corpus: Corpus | str | Path,
        faces: list[str] | None = None,
        charset: list[int] | None = None,
        augmented: bool = False,
    ) -> None:
        corpus = corpus if isinstance(corpus, Corpus) else Corpus.open(corpus)
        names = list(faces) if faces else corpus.face_names
        if not names:
            raise CorpusError(f"{corpus.folder}: the corpus holds no face")
        self.corpus: Corpus | None = corpus
        sets = [corpus.face(name, augmented=augmented) for name in names]
        self._index(sets, names, charset, augmented, source=str(corpus.folder))

    @classmethod
    def from_glyphsets(
        cls,
        glyphsets: list[GlyphSet],
        charset: list[int] | None = None,
        augmented: bool = False,
    ) -> GlyphDataset:
        """A dataset over glyph sets already at hand (in memory or memory-mapped)."""
        dataset = cls.__new__(cls)
        dataset.corpus = None
        names = [g.name for g in glyphsets]
        dataset._index(glyphsets, names, charset, augmented, source=", ".join(names))
        return dataset

    def _index(
        self,
        glyphsets: list[GlyphSet],
        names: list[str],
        charset: list[int] | None,
        augmented: bool,
        source: str,
    ) -> None:
        if not glyphsets:
            raise CorpusError(f"{source}: no glyph set to draw from")
        sizes = {g.size for g in glyphsets}
        if len(sizes) != 1:
            raise CorpusError(f"{source}: glyph sets of different sizes {sorted(sizes)}")
        self.face_names = list(names)
        self.size = sizes.pop()
        wanted = None if charset is None else np.asarray(sorted(set(charset)), dtype=np.int32)
        self._arrays: list[np.ndarray] = []  # one N×H×W array per (face, copy)
        sources, rows, cps, face_ids = [], [], [], []
        for face_index, glyphs in enumerate(glyphsets):
            keep = (
                np.arange(len(glyphs))
                if wanted is None
                else np.flatnonzero(np.isin(glyphs.codepoints, wanted))
            )
            copies = [glyphs.images]
            if augmented and glyphs.augmented is not None:
                copies += [glyphs.augmented[k] for k in range(glyphs.augmented.shape[0])]
            for array in copies:
                sources.append(np.full(len(keep), len(self._arrays), dtype=np.int32))
                self._arrays.append(array)
                rows.append(keep.astype(np.int64))
                cps.append(glyphs.codepoints[keep])
                face_ids.append(np.full(len(keep), face_index, dtype=np.int64))
        self._source = np.concatenate(sources)
        self._row = np.concatenate(rows)
        self.codepoints = np.concatenate(cps).astype(np.int64)
        self.faces = np.concatenate(face_ids)
        if not len(self._row):
            raise CorpusError(f"{source}: the chosen faces and charset select no glyph")
        self.syllables = self.codepoints - hangul.FIRST
        self.placement = placement_meta(glyphsets)  # what glyph sets drawn from it inherit
        self.jamo = hangul.jamo_table(self.codepoints)

    @property
    def num_faces(self) -> int:
        """How many faces the dataset draws from."""
        return len(self.face_names)

    def __len__(self) -> int:
        return len(self._row)

    def raw_images(self, indices: np.ndarray) -> np.ndarray:
        """uint8 images (B,H,W) for dataset indices, gathered per source array."""
        indices = np.asarray(indices, dtype=np.int64)
        out = np.empty((len(indices), *self.size), dtype=np.uint8)
        sources = self._source[indices]
        for source in np.unique(sources):
            picked = np.flatnonzero(sources == source)
            rows = self._row[indices[picked]]
            order = np.argsort(rows)  # ascending reads are kinder to the page cache
            out[picked[order]] = self._arrays[source][rows[order]]
        return out

    def get_batch(
        self, indices: np.ndarray | list[int], seed: int | None = None
    ) -> dict[str, torch.Tensor]:
        """A batch as tensors: image (B,1,H,W) in [-1, 1], syllable, jamo (B,3), face.

        ``seed`` is unused: the batch depends on ``indices`` alone.
        """
        indices = np.asarray(indices, dtype=np.int64)
        images = torch.from_numpy(self.raw_images(indices)).unsqueeze(1)
        return {
            "image": images.float().div_(127.5).sub_(1.0),
            "syllable": torch.from_numpy(self.syllables[indices]),
            "jamo": torch.from_numpy(self.jamo[indices]),
            "face": torch.from_numpy(self.faces[indices]),
        }

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        batch = self.get_batch(np.array([index]))
        return {key: value[0] for key, value in batch.items()}

    # DataLoader fetches a whole batch in one call when the dataset offers this.
    def __getitems__(self, indices: list[int]) -> dict[str, torch.Tensor]:
        return self.get_batch(np.asarray(indices))
