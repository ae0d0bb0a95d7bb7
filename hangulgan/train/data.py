"""Datasets for training: a corpus selection (the usual case) or arrays in memory.

The trainer needs only ``len(dataset)`` and ``dataset.get_batch(indices) -> dict of
tensors``; ``size``, ``num_faces``, ``face_names`` and ``codepoints`` describe the data
to the model when present.
"""

from __future__ import annotations

import numpy as np
import torch

from hangulgan import hangul
from hangulgan.errors import ConfigError, CorpusError
from hangulgan.train.config import DataConfig


def open_dataset(data: DataConfig):  # -> hangulgan.data.corpus.GlyphDataset
    """The glyphs of a corpus that ``data`` selects (faces, charset, augmented copies).

    Raises CorpusError for a missing corpus, an unknown face or a selection with no glyph,
    ConfigError for a charset that is neither a name nor a readable file.
    """
    from hangulgan.data.corpus import GlyphDataset

    if not data.corpus:
        raise ConfigError("no corpus given (--corpus FOLDER, made by `hangulgan render`)")
    try:
        charset = (
            None if data.charset in (None, "", "all") else hangul.resolve_charset(data.charset)
        )
    except ValueError as err:
        raise ConfigError(f"--charset {err}") from None
    dataset = GlyphDataset(data.corpus, faces=data.faces, charset=charset, augmented=data.augmented)
    if len(dataset) == 0:
        raise CorpusError(f"{data.corpus}: the chosen faces and charset select no glyph")
    return dataset


class ArrayGlyphDataset:
    """Glyphs held in memory (N×H×W uint8 ink and their code points), for tests and scripts.

    Batches have the same keys as a corpus dataset: ``image`` in [-1, 1], ``syllable``,
    ``jamo`` and ``face``.
    """

    def __init__(
        self,
        images: np.ndarray,
        codepoints: np.ndarray | list[int],
        faces: np.ndarray | None = None,
        face_names: list[str] | None = None,
    ) -> None:
        self.images = np.ascontiguousarray(images, dtype=np.uint8)
        self.codepoints = np.asarray(codepoints, dtype=np.int64)
        if self.images.ndim != 3 or len(self.images) != len(self.codepoints):
            raise ValueError("images must be N×H×W with one code point each")
        self.faces = np.zeros(len(self.images), np.int64) if faces is None else np.asarray(faces)
        self.face_names = list(face_names or ["memory"])
        self.syllables = self.codepoints - hangul.FIRST
        self.jamo = hangul.jamo_table(self.codepoints)
        self.size = (int(self.images.shape[1]), int(self.images.shape[2]))

    @property
    def num_faces(self) -> int:
        """How many faces the glyphs come from."""
        return len(self.face_names)

    def __len__(self) -> int:
        return len(self.images)

    def get_batch(self, indices: np.ndarray | list[int]) -> dict[str, torch.Tensor]:
        """A batch as tensors, like :meth:`hangulgan.data.corpus.GlyphDataset.get_batch`."""
        indices = np.asarray(indices, dtype=np.int64)
        images = torch.from_numpy(self.images[indices]).unsqueeze(1)
        return {
            "image": images.float().div_(127.5).sub_(1.0),
            "syllable": torch.from_numpy(self.syllables[indices]),
            "jamo": torch.from_numpy(self.jamo[indices]),
            "face": torch.from_numpy(self.faces[indices]),
        }
