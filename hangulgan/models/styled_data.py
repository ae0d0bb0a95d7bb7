"""The few-shot generator's training data: targets in runs per face, with references.

How a batch is drawn is described in :mod:`hangulgan.models.styled` (targets grouped by
face, references drawn from a generator seeded by the batch indices).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import torch

from hangulgan import hangul
from hangulgan.data.glyphset import GlyphSet
from hangulgan.errors import CorpusError
from hangulgan.models.styled_config import StyledDataConfig
from hangulgan.models.styled_split import holdout_syllables


def _to_unit(images: np.ndarray) -> torch.Tensor:
    """uint8 N×H×W → float N×1×H×W in [-1, 1] (ink = +1)."""
    return torch.from_numpy(np.ascontiguousarray(images)).unsqueeze(1).float().div_(127.5).sub_(1)


class StyledDataset:
    """Training items of the few-shot generator: (face, syllable) pairs with references.

    ``len`` counts the (face, syllable) pairs of the training split; :meth:`get_batch`
    turns a run of indices into targets and references as the module docstring describes.
    """

    channels = 1
    ink = True
    loader_workers = 0  # in memory: batches are cheap to draw in the training process
    batch_keys = ("image", "source", "jamo", "face", "group", "refs", "ref_jamo")

    def __init__(self, corpus: Any, config: StyledDataConfig, seed: int = 0) -> None:
        from hangulgan.data.corpus import Corpus

        config.validate()
        corpus = corpus if isinstance(corpus, Corpus) else Corpus.open(corpus)
        self.corpus = corpus
        self.config = config
        self.seed = seed
        faces = config.faces
        held_faces = set(config.holdout_face_list)
        unknown = sorted(held_faces - set(corpus.face_names))
        if unknown:
            raise CorpusError(f"{corpus.folder}: held-out face(s) not in the corpus: {unknown}")
        names = [n for n in (faces or corpus.face_names) if n not in held_faces]
        if config.content_face not in corpus.face_names:
            raise CorpusError(
                f"{corpus.folder}: the content face {config.content_face!r} is not in the corpus"
            )
        content = corpus.face(config.content_face, augmented=False)
        self._setup(
            [(name, corpus.face(name, augmented=False)) for name in names],
            content_table(content.images, content.codepoints, corpus.size),
            holdout_syllables(config.holdout_fraction, config.split_seed),
            source=str(corpus.folder),
        )

    @classmethod
    def from_glyphsets(
        cls,
        glyphsets: list[GlyphSet],
        content: np.ndarray,
        config: StyledDataConfig,
        seed: int = 0,
    ) -> StyledDataset:
        """A dataset over glyph sets at hand (e.g. one font's own glyphs, to fine-tune on).

        ``content`` is the 11,172×H×W content table (:func:`content_table`); no syllable
        is held out.
        """
        dataset = cls.__new__(cls)
        dataset.corpus = None
        dataset.config = config
        dataset.seed = seed
        names = ", ".join(g.name for g in glyphsets)
        dataset._setup(
            [(g.name, g) for g in glyphsets], content, np.zeros(0, np.int64), source=names
        )
        return dataset

    def _setup(
        self,
        faces: list[tuple[str, GlyphSet]],
        content: np.ndarray,
        held: np.ndarray,
        source: str,
    ) -> None:
        config = self.config
        self.size = (int(content.shape[1]), int(content.shape[2]))
        self.content = content
        self.heldout = held
        self.face_names: list[str] = []
        self._images: list[np.ndarray] = []
        self._codepoints: list[np.ndarray] = []
        face_of, row_of = [], []
        for name, glyphs in faces:
            if glyphs.size != self.size:
                raise CorpusError(
                    f"{name}: glyphs of {glyphs.size}, the content face's {self.size}"
                )
            train_rows = np.flatnonzero(~np.isin(glyphs.codepoints, held))
            # faces drawing fewer syllables than a batch needs cannot give disjoint references
            if len(train_rows) < config.targets_per_face + config.refs_max:
                continue
            index = len(self.face_names)
            self.face_names.append(name)
            self._images.append(glyphs.images)
            self._codepoints.append(glyphs.codepoints.astype(np.int64))
            face_of.append(np.full(len(train_rows), index, dtype=np.int64))
            row_of.append(train_rows.astype(np.int64))
        if not self.face_names:
            raise CorpusError(f"{source}: no face left to train on after the split")
        self._face = np.concatenate(face_of)
        self._row = np.concatenate(row_of)
        self._train_rows = [np.flatnonzero(~np.isin(cps, held)) for cps in self._codepoints]
        self.codepoints = np.concatenate(
            [cps[rows] for cps, rows in zip(self._codepoints, self._train_rows, strict=True)]
        )

    @property
    def num_faces(self) -> int:
        """How many faces the generator trains on."""
        return len(self.face_names)

    def __len__(self) -> int:
        return len(self._row)

    def _rng(self, indices: np.ndarray) -> np.random.Generator:
        digest = hashlib.blake2b(indices.astype(np.int64).tobytes(), digest_size=8)
        digest.update(int(self.seed).to_bytes(8, "little", signed=True))
        return np.random.default_rng(int.from_bytes(digest.digest(), "little"))

    def get_batch(
        self, indices: np.ndarray | list[int], seed: int | None = None
    ) -> dict[str, torch.Tensor]:
        """Targets (in runs of ``targets_per_face`` from one face) and their references.

        The draws come from a generator seeded by the indices and the dataset's seed (not
        ``seed``), so the same indices always give the same batch.
        """
        indices = np.asarray(indices, dtype=np.int64)
        rng = self._rng(indices)
        per_face = self.config.targets_per_face
        k = int(rng.integers(self.config.refs_min, self.config.refs_max + 1))
        anchors = indices[::per_face]
        targets, refs, faces = [], [], []
        for anchor in anchors:
            face = int(self._face[anchor])
            rows = self._train_rows[face]
            anchor_row = int(self._row[anchor])
            need = per_face - 1 + k
            # one spare draw: at most one of them is the anchor, which is dropped
            drawn = rows[rng.choice(len(rows), size=need + 1, replace=False)]
            drawn = drawn[drawn != anchor_row][:need]
            targets.append(np.concatenate([[anchor_row], drawn[: per_face - 1]]))
            refs.append(drawn[per_face - 1 :])
            faces.append(face)
        target_images, target_cps, group, face_ids = [], [], [], []
        ref_images, ref_cps = [], []
        for g, (face, rows, ref_rows) in enumerate(zip(faces, targets, refs, strict=True)):
            target_images.append(self._images[face][np.sort(rows)])
            target_cps.append(self._codepoints[face][np.sort(rows)])
            ref_images.append(self._images[face][np.sort(ref_rows)])
            ref_cps.append(self._codepoints[face][np.sort(ref_rows)])
            group.append(np.full(len(rows), g))
            face_ids.append(np.full(len(rows), face))
        cps = np.concatenate(target_cps)
        ref_cps_all = np.stack(ref_cps)
        return {
            "image": _to_unit(np.concatenate(target_images)),
            "source": _to_unit(self.content[cps - hangul.FIRST]),
            "jamo": torch.from_numpy(hangul.jamo_table(cps)),
            "face": torch.from_numpy(np.concatenate(face_ids)),
            "group": torch.from_numpy(np.concatenate(group)),
            "refs": _to_unit(np.concatenate(ref_images)).view(len(faces), k, 1, *self.size),
            "ref_jamo": torch.from_numpy(hangul.jamo_table(ref_cps_all.reshape(-1))).view(
                len(faces), k, 3
            ),
        }


def content_table(images: np.ndarray, codepoints: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An 11,172×H×W uint8 table of the content face, indexed by syllable (blank where absent)."""
    table = np.zeros((hangul.N_SYLLABLES, *size), dtype=np.uint8)
    cps = np.asarray(codepoints, dtype=np.int64)
    keep = (cps >= hangul.FIRST) & (cps <= hangul.LAST)
    table[cps[keep] - hangul.FIRST] = np.asarray(images)[keep]
    return table
