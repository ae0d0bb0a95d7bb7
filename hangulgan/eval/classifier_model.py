"""The glyph classifier as a model the shared trainer trains (``hangulgan train classifier``):
its split of a corpus into trained and held-out faces and syllables, its augmented
batches, and its training step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hangulgan import hangul
from hangulgan.data.augment import AugmentConfig, augment_batch
from hangulgan.errors import ConfigError, CorpusError
from hangulgan.eval.classifier_config import ClassifierConfig, ClassifierDataConfig
from hangulgan.eval.classifier_net import GlyphClassifierNet, head_sizes
from hangulgan.train.contract import DataInfo, Model
from hangulgan.train.options import ModelConfig
from hangulgan.train.schedule import cosine_rate, set_rate


def holdout_syllable_set(fraction: float, seed: int) -> np.ndarray:
    """Code points of ``fraction`` of the 11,172 syllables, drawn by numpy's PCG64 from ``seed``."""
    count = int(round(fraction * hangul.N_SYLLABLES))
    everything = np.arange(hangul.FIRST, hangul.LAST + 1, dtype=np.int64)
    return np.sort(np.random.default_rng(seed).choice(everything, size=count, replace=False))


@dataclass
class Split:
    """Which faces and syllables a classifier trains on, and which it holds out."""

    train_faces: list[str]
    holdout_faces: list[str]
    charset: np.ndarray | None  # None: every syllable the faces draw
    holdout_syllables: np.ndarray


def make_split(data: ClassifierDataConfig, face_names: list[str], folder: str) -> Split:
    """The split ``data`` asks for over a corpus' faces (CorpusError for unknown faces)."""
    data.validate()
    held = data.holdout_face_list
    unknown = sorted(set(held) - set(face_names))
    if unknown:
        raise CorpusError(f"{folder}: held-out face(s) not in the corpus: {', '.join(unknown)}")
    chosen = data.faces or face_names
    missing = sorted(set(chosen) - set(face_names))
    if missing:
        raise CorpusError(f"{folder}: face(s) not in the corpus: {', '.join(missing)}")
    train_faces = [name for name in chosen if name not in held]
    if not train_faces:
        raise CorpusError(f"{folder}: every chosen face is held out; nothing left to train on")
    try:
        charset = (
            None
            if data.charset in (None, "", "all")
            else np.asarray(hangul.resolve_charset(data.charset), dtype=np.int64)
        )
    except ValueError as err:
        raise ConfigError(f"--charset {err}") from None
    return Split(
        train_faces, held, charset, holdout_syllable_set(data.holdout_fraction, data.split_seed)
    )


class ClassifierDataset:
    """Real glyphs of the training faces and syllables; a share of each batch augmented.

    Follows the trainer's :class:`~hangulgan.train.contract.TrainingData` protocol. The
    distortions are the render stage's (:func:`~hangulgan.data.augment.augment_batch`,
    translation padded rather than wrapped, so no stroke crosses to the other side) and
    are drawn from the batch seed, so a resumed run sees the same batches.
    """

    channels = 1
    ink = True
    loader_workers = 0
    batch_keys = ("image", "syllable", "jamo", "face")

    def __init__(self, data: ClassifierDataConfig) -> None:
        from hangulgan.data.corpus import Corpus
        from hangulgan.data.dataset import GlyphDataset

        if not data.corpus:
            raise ConfigError("no corpus given (--corpus FOLDER, made by `hangulgan render`)")
        corpus = Corpus.open(data.corpus)
        self.split = make_split(data, corpus.face_names, str(corpus.folder))
        wanted = self.split.charset
        if wanted is None:
            wanted = np.arange(hangul.FIRST, hangul.LAST + 1, dtype=np.int64)
        wanted = wanted[~np.isin(wanted, self.split.holdout_syllables)]
        extra = [p.strip() for entry in data.glyph_sets or [] for p in entry.split(",")]
        if extra:
            from hangulgan.data.corpus import open_glyphset

            sets = [corpus.face(name) for name in self.split.train_faces]
            taken = set(self.split.train_faces) | set(self.split.holdout_faces)
            for path in filter(None, extra):
                glyphs = open_glyphset(path)
                if glyphs.size != corpus.size:
                    raise ConfigError(
                        f"{path}: {glyphs.size[0]}×{glyphs.size[1]} glyphs, the corpus' are "
                        f"{corpus.size[0]}×{corpus.size[1]}"
                    )
                if glyphs.name in taken:  # face names must stay unique (the style head)
                    glyphs.name = f"{glyphs.name}@{path}"
                taken.add(glyphs.name)
                sets.append(glyphs)
            self.glyphs = GlyphDataset.from_glyphsets(sets, charset=wanted.tolist())
        else:
            self.glyphs = GlyphDataset(
                corpus, faces=self.split.train_faces, charset=wanted.tolist()
            )
        self.size = self.glyphs.size
        self.face_names = self.glyphs.face_names
        self.codepoints = self.glyphs.codepoints
        self.augment_share = data.augment_share
        self.augment = AugmentConfig(wrap=False)

    def __len__(self) -> int:
        return len(self.glyphs)

    def get_batch(self, indices: np.ndarray, seed: int | None = None) -> dict[str, torch.Tensor]:
        """A batch (see :class:`~hangulgan.data.dataset.GlyphDataset`), part augmented."""
        indices = np.asarray(indices, dtype=np.int64)
        batch = self.glyphs.get_batch(indices)
        generator = torch.Generator().manual_seed(0 if seed is None else int(seed))
        chosen = torch.rand(len(indices), generator=generator) < self.augment_share
        if bool(chosen.any()):
            raw = torch.from_numpy(self.glyphs.raw_images(indices[chosen.numpy()]))
            distorted, _ = augment_batch(raw, self.augment, generator)
            batch["image"][chosen] = distorted.unsqueeze(1).float().div_(127.5).sub_(1.0)
        return batch


class GlyphClassifier(Model):
    """The glyph classifier as a model the trainer trains (what `hangulgan train classifier`
    is for: ``ClassifierConfig.command_help``)."""

    name = "classifier"
    config_class = ClassifierConfig
    data_config_class = ClassifierDataConfig
    samples_need_data = True

    def __init__(self, config: ClassifierConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        config.validate()
        self.net = GlyphClassifierNet(
            head_sizes(config.task, info.face_names), config.width, (info.height, info.width)
        )
        self.networks = {"classifier": self.net}

    @classmethod
    def make_dataset(
        cls, data: ClassifierDataConfig, config: ModelConfig | None = None
    ) -> ClassifierDataset:
        """The training glyphs: the corpus' faces and syllables minus the held-out ones
        (the same for either task, so ``config`` is not needed)."""
        return ClassifierDataset(data)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """AdamW over the network."""
        cfg = self.config
        return {
            "classifier": torch.optim.AdamW(
                self.net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay
            )
        }

    def learning_rate(self, step: int) -> float:
        """The rate at ``step``: a function of the step alone, so a resumed run matches."""
        return cosine_rate(self.config.lr, self.config.lr_decay_steps, step)

    def training_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        """Cross-entropy of every head; returns the loss and the batch accuracy."""
        images = batch["image"].to(self.device, non_blocking=True)
        set_rate(self.optimizers["classifier"], self.learning_rate(step))
        logits = self.net(images)
        targets = _targets(self.config.task, batch, self.device)
        smoothing = self.config.label_smoothing
        loss = sum(
            F.cross_entropy(logits[name].float(), targets[name], label_smoothing=smoothing)
            for name in logits
        )
        self.zero_grad(self.optimizers.values())
        loss.backward()
        self.optimizer_step("classifier")
        right = torch.stack([logits[n].argmax(1) == targets[n] for n in logits]).all(0)
        return {"loss": loss.detach(), "accuracy": right.float().mean().detach()}

    def grid_inputs(
        self, n: int, generator: torch.Generator, real: dict[str, torch.Tensor] | None = None
    ) -> dict[str, torch.Tensor]:
        """The grid shows training glyphs (as augmented), since a classifier draws nothing."""
        if real is None:
            raise ConfigError("the classifier's grid needs a batch of its training glyphs")
        return {"image": real["image"][:n]}

    @torch.no_grad()
    def generate(
        self, inputs: dict[str, torch.Tensor], networks: dict[str, nn.Module] | None = None
    ) -> torch.Tensor:
        """The input glyphs themselves (a classifier's grid is what it learns from)."""
        return inputs["image"].float().cpu()


def _targets(task: str, batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, Any]:
    if task == "content":
        jamo = batch["jamo"].to(device)
        return {"initial": jamo[:, 0], "medial": jamo[:, 1], "final": jamo[:, 2]}
    return {"face": batch["face"].to(device)}
