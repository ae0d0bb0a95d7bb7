"""Glyph classifiers that measure generated glyphs: content (jamo) and style (face).

* **Content classifier**: three heads, the initial (19), the medial (21) and the final
  (28). A syllable is read from its parts, so one it never saw is still read; "content
  accuracy" counts a glyph right when all three heads are. Its held-out data is faces it
  never saw (``--holdout-faces``).
* **Style classifier**: one head over the faces trained on. Its held-out data is
  syllables it never saw (``--holdout-fraction``).

Both are the same small CNN (about 0.17 M parameters, 0.7 MB of float32; the published
evaluators' ResNet-50s at 64×64 need GPUs) trained by the shared trainer as the model
``classifier`` (``hangulgan train classifier``), on real glyphs with the render stage's
augmentation (:func:`hangulgan.data.augment.augment_batch`) applied to part of each batch.
:func:`export_classifier` turns a run into a classifier file: ``NAME.safetensors`` (the
weights) beside ``NAME.json`` (task, image size, the faces and syllables trained on, the
held-out split and the accuracy measured on it). :func:`load_classifier` reads it back.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hangulgan import hangul
from hangulgan.data.augment import AugmentConfig, augment_batch
from hangulgan.errors import CheckpointError, ConfigError, CorpusError
from hangulgan.eval.metrics import content_accuracy, resize_glyphs, style_accuracy
from hangulgan.train.contract import DataInfo, Model
from hangulgan.train.options import ModelConfig, option
from hangulgan.train.weights import (
    header_fields,
    read_description,
    read_weights,
    shipped_weights,
    write_description,
    write_weights,
)

CLASSIFIER_FORMAT = "hangulgan.classifier"
CLASSIFIER_VERSION = 1
TASKS = ("content", "style")
JAMO_HEADS = (
    ("initial", hangul.N_INITIALS),
    ("medial", hangul.N_MEDIALS),
    ("final", hangul.N_FINALS),
)
FEATURE_DIM = 256
DEFAULT_CONTENT_CLASSIFIER = "content-classifier"  # package data: hangulgan/weights/
# Held out by default: whole families, spread over styles (gothic, serif, rounded, pen),
# so no design of theirs is seen in training. The handwriting faces (NanumPen, NanumBrush,
# UnPilgi) all stay in training: held out in a trial (width 32, step 500 of 3000), UnPilgi
# read at 0.39–0.49 while the printed faces read at 0.94–0.97,
# since the other two are too few to teach how far handwriting strays.
DEFAULT_HOLDOUT_FACES = (
    "UnDotum",
    "UnDotum-Bold",
    "Baekmuk-Batang",
    "NanumSquareRoundL",
    "NanumSquareRoundR",
    "NanumSquareRoundB",
    "NanumSquareRoundEB",
    "NanumBarunpen",
    "NanumBarunpen-Bold",
)


# --------------------------------------------------------------------------- configs


@dataclass
class ClassifierConfig(ModelConfig):
    """The classifier network and its optimiser."""

    task: str = option("content", "content: jamo heads; style: which face.", choices=TASKS)
    width: int = option(16, "Channels of the first convolution (the last has six times as many).")
    lr: float = option(2e-3, "AdamW learning rate.")
    weight_decay: float = option(1e-4, "AdamW weight decay.")
    label_smoothing: float = option(0.05, "Label smoothing of the cross-entropy.")
    lr_decay_steps: int = option(
        0, "Cosine decay of the learning rate to zero over this many steps (0: constant)."
    )

    def validate(self) -> None:
        """Raise ConfigError for values out of range."""
        if self.task not in TASKS:
            raise ConfigError(f"--task {self.task}: choose content or style")
        if self.width < 4:
            raise ConfigError(f"--width {self.width}: must be 4 or more")
        if not self.lr > 0:
            raise ConfigError(f"--lr {self.lr}: must be positive")
        if self.lr_decay_steps < 0:
            raise ConfigError(f"--lr-decay-steps {self.lr_decay_steps}: must be 0 or more")
        if not 0 <= self.label_smoothing < 1:
            raise ConfigError(f"--label-smoothing {self.label_smoothing}: must lie in [0, 1)")


@dataclass
class ClassifierDataConfig:
    """Real glyphs of a corpus, a held-out split, and the share of each batch augmented."""

    corpus: str | None = option(None, "Corpus folder from `hangulgan render`.")
    faces: list[str] | None = option(
        None, "Use these faces only (repeat, or comma-separate). Default: all.", multiple=True
    )
    charset: str = option("all", "Syllables to use: all, ksx1001, seed16, or a text file.")
    glyph_sets: list[str] | None = option(
        None,
        "Glyph-set folders trained on beside the corpus faces, each as one more face: a "
        "model's drawings (`hangulgan generate`), say (repeat, or comma-separate).",
        multiple=True,
    )
    holdout_faces: list[str] | None = option(
        None,
        "Faces never trained on, for the content classifier's held-out accuracy (repeat, "
        "or comma-separate; 'default' names the shipped classifier's nine).",
        multiple=True,
    )
    holdout_fraction: float = option(
        0.0, "Share of the syllables never trained on (the style classifier's held-out data)."
    )
    split_seed: int = option(0, "Seed of the held-out syllables.")
    augment_share: float = option(
        0.75, "Share of each batch distorted by the render stage's augmentation."
    )

    def validate(self) -> None:
        """Raise ConfigError for values out of range."""
        if not 0 <= self.holdout_fraction < 1:
            raise ConfigError(f"--holdout-fraction {self.holdout_fraction}: must lie in [0, 1)")
        if not 0 <= self.augment_share <= 1:
            raise ConfigError(f"--augment-share {self.augment_share}: must lie in [0, 1]")

    @property
    def holdout_face_list(self) -> list[str]:
        """The held-out faces, comma-separated entries split and 'default' expanded."""
        names: list[str] = []
        for entry in self.holdout_faces or []:
            for name in entry.split(","):
                name = name.strip()
                if name == "default":
                    names += list(DEFAULT_HOLDOUT_FACES)
                elif name:
                    names.append(name)
        return list(dict.fromkeys(names))


def holdout_syllable_set(fraction: float, seed: int) -> np.ndarray:
    """Code points of ``fraction`` of the 11,172 syllables, drawn by numpy's PCG64 from ``seed``."""
    count = int(round(fraction * hangul.N_SYLLABLES))
    everything = np.arange(hangul.FIRST, hangul.LAST + 1, dtype=np.int64)
    return np.sort(np.random.default_rng(seed).choice(everything, size=count, replace=False))


# --------------------------------------------------------------------------- data


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


# --------------------------------------------------------------------------- network


class GlyphClassifierNet(nn.Module):
    """A small CNN for H×W glyphs: four conv stages, a 256-d feature, one head per output."""

    def __init__(self, heads: dict[str, int], width: int = 16, size: tuple[int, int] = (32, 32)):
        super().__init__()

        def block(cin: int, cout: int, stride: int) -> list[nn.Module]:
            return [
                nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
            ]

        w = width
        # Stride-2 stages keep the cost near 2.4 M multiply-adds per 32×32 glyph at width
        # 16 (reading 11,172 glyphs takes seconds on a CPU core; width 32 costs 9 M). The
        # 2×2 pooling at the end keeps where strokes sit, since a jamo's position (left,
        # top, bottom) is part of what it is.
        self.body = nn.Sequential(
            *block(1, w, 1),
            *block(w, 3 * w // 2, 2),
            *block(3 * w // 2, 3 * w, 2),
            *block(3 * w, 6 * w, 2),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Linear(24 * w, FEATURE_DIM),
            nn.BatchNorm1d(FEATURE_DIM),
            nn.ReLU(inplace=True),
        )
        self.heads = nn.ModuleDict({name: nn.Linear(FEATURE_DIM, n) for name, n in heads.items()})
        self.size = tuple(size)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Penultimate features (N×256) of N×1×H×W images in [-1, 1] (Glyph-FID uses these)."""
        return self.body(images)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits per head."""
        feats = self.features(images)
        return {name: head(feats) for name, head in self.heads.items()}


def head_sizes(task: str, face_names: list[str] | tuple[str, ...]) -> dict[str, int]:
    """The output heads of a classifier of ``task``."""
    if task == "content":
        return dict(JAMO_HEADS)
    return {"face": len(face_names)}


# --------------------------------------------------------------------------- the model


class GlyphClassifier(Model):
    """Glyph classifier (content: the three jamo; style: the face), for `hangulgan evaluate`.

    Train the content classifier with faces held out, the style classifier with
    syllables held out; then `hangulgan classifier-export RUN --out NAME` measures the
    held-out accuracy and writes NAME.safetensors + NAME.json.
    """

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
        cfg = self.config
        if not cfg.lr_decay_steps:
            return cfg.lr
        progress = min(step / cfg.lr_decay_steps, 1.0)
        return cfg.lr * 0.5 * (1 + math.cos(math.pi * progress))

    def training_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        """Cross-entropy of every head; returns the loss and the batch accuracy."""
        images = batch["image"].to(self.device, non_blocking=True)
        for group in self.optimizers["classifier"].param_groups:
            group["lr"] = self.learning_rate(step)
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


# --------------------------------------------------------------------------- inference


def fuse_for_inference(body: nn.Sequential) -> nn.Sequential:
    """A copy of ``body`` in eval mode with each batch norm folded into the convolution or
    linear layer before it (same outputs up to rounding), in channels-last layout."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

    layers = [copy.deepcopy(layer).eval() for layer in body]
    fused: list[nn.Module] = []
    for layer in layers:
        previous = fused[-1] if fused else None
        if isinstance(layer, nn.BatchNorm2d) and isinstance(previous, nn.Conv2d):
            fused[-1] = fuse_conv_bn_eval(previous, layer)
        elif isinstance(layer, nn.BatchNorm1d) and isinstance(previous, nn.Linear):
            fused[-1] = fuse_linear_bn_eval(previous, layer)
        else:
            fused.append(layer)
    return nn.Sequential(*fused).eval().to(memory_format=torch.channels_last)


def images_to_input(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 N×H×W glyphs (255 = ink) as the network's N×1×H×W float input in [-1, 1]."""
    if not torch.is_tensor(images):
        array = np.asarray(images)
        # Memory-mapped glyph sets are read-only; torch wants a writable array.
        images = torch.from_numpy(array if array.flags.writeable else array.copy())
    tensor = images
    if tensor.ndim == 3:
        tensor = tensor[:, None]
    if tensor.dtype == torch.uint8:
        return tensor.float().div_(127.5).sub_(1.0)
    return tensor.float()


@dataclass
class Classifier:
    """A trained classifier ready to read glyphs: its network and what it was trained on."""

    net: GlyphClassifierNet
    task: str
    meta: dict[str, Any]
    path: Path | None = None
    _inference: nn.Module | None = field(default=None, repr=False)
    _inference_of: nn.Module | None = field(default=None, repr=False)

    def inference_body(self) -> nn.Module:
        """The feature network for reading: batch norm folded into the layers before it,
        channels-last (measured here: about 2× faster on a CPU core than the training form).
        Rebuilt when the weights change identity (a new ``net``)."""
        if self._inference is None or self._inference_of is not self.net:
            self._inference = fuse_for_inference(self.net.body)
            self._inference_of = self.net
        return self._inference

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the glyphs it reads."""
        return self.net.size

    @property
    def face_names(self) -> list[str]:
        """The faces a style classifier tells apart (and any classifier trained on)."""
        return list(self.meta.get("faces", []))

    def _check(self, images: np.ndarray | torch.Tensor) -> bool:
        """Whether ``images`` must be scaled down to :attr:`size` (larger, same aspect).
        CheckpointError for smaller glyphs (read scaled up, they would measure the scaling)
        and for another aspect, which resizing would distort."""
        shape = tuple(images.shape[-2:])
        if shape == tuple(self.size):
            return False
        same_aspect = shape[0] * self.size[1] == shape[1] * self.size[0]
        if same_aspect and shape[0] > self.size[0]:
            return True
        where = self.path or "classifier"
        why = "smaller glyphs" if same_aspect else "another aspect"
        raise CheckpointError(
            f"{where}: reads {self.size[0]}×{self.size[1]} glyphs, given "
            f"{shape[0]}×{shape[1]} ({why}: train a classifier at that size)"
        )

    @torch.no_grad()
    def analyze(
        self, images: np.ndarray | torch.Tensor, batch: int = 1024
    ) -> tuple[np.ndarray, dict[str, torch.Tensor]]:
        """Penultimate features (N×256, float64) and logits per head, in one pass.

        Larger glyphs of the same aspect (64×64 for a 32×32 classifier, say) are scaled
        down to the classifier's size, bilinear with antialiasing."""
        if self._check(images):
            array = images.numpy() if torch.is_tensor(images) else np.asarray(images)
            images = resize_glyphs(array, tuple(self.size))
        body = self.inference_body()
        feats: list[torch.Tensor] = []
        logits: dict[str, list[torch.Tensor]] = {name: [] for name in self.net.heads}
        for start in range(0, len(images), batch):
            x = images_to_input(images[start : start + batch])
            x = x.contiguous(memory_format=torch.channels_last)  # faster convolutions on CPU
            f = body(x)
            feats.append(f.double())
            for name, head in self.net.heads.items():
                logits[name].append(head(f))
        features = torch.cat(feats).numpy() if feats else np.zeros((0, FEATURE_DIM))
        return features, {
            name: torch.cat(values) if values else torch.zeros(0, self.net.heads[name].out_features)
            for name, values in logits.items()
        }

    def logits(self, images: np.ndarray | torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits per head for uint8 N×H×W glyphs."""
        return self.analyze(images)[1]

    def features(self, images: np.ndarray | torch.Tensor) -> np.ndarray:
        """Penultimate features (N×256, float64) of uint8 N×H×W glyphs (for Glyph-FID)."""
        return self.analyze(images)[0]

    def read(
        self, images: np.ndarray | torch.Tensor, logits: dict[str, torch.Tensor] | None = None
    ) -> dict[str, np.ndarray]:
        """What a content classifier reads: ``codepoint`` (N), ``confidence`` (the least of
        the three heads' top probabilities) and ``jamo`` (N×3). ``logits``: already
        computed by :meth:`analyze` for these images.

        Probabilities are calibrated: each head's logits are divided by the temperature
        fitted on held-out real glyphs at export (``temperatures`` in the JSON). Trained
        with label smoothing and heavy augmentation, the raw heads are underconfident
        (measured: only 0.715 of real NanumGothic glyphs had every head ≥ 0.9)."""
        if self.task != "content":
            raise ConfigError(
                f"{self.path or 'classifier'}: a {self.task} classifier reads no jamo"
            )
        logits = self.logits(images) if logits is None else logits
        temperatures = self.meta.get("temperatures", {})
        probs = [
            torch.softmax(logits[name].float() / float(temperatures.get(name, 1.0)), dim=1)
            for name, _ in JAMO_HEADS
        ]
        top = [p.max(dim=1) for p in probs]
        jamo = torch.stack([t.indices for t in top], dim=1).numpy()
        confidence = torch.stack([t.values for t in top], dim=1).min(dim=1).values
        confidence = confidence.double().numpy()
        codepoints = hangul.FIRST + (jamo[:, 0] * hangul.N_MEDIALS + jamo[:, 1]) * hangul.N_FINALS
        codepoints = codepoints + jamo[:, 2]
        return {"codepoint": codepoints.astype(np.int64), "confidence": confidence, "jamo": jamo}


# --------------------------------------------------------------------------- files


def _paths(path: str | Path) -> tuple[Path, Path]:
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".json", ".safetensors") else path
    return stem.with_name(stem.name + ".safetensors"), stem.with_name(stem.name + ".json")


def save_classifier(classifier: Classifier, path: str | Path) -> tuple[Path, Path]:
    """Write ``PATH.safetensors`` (weights) and ``PATH.json`` (what it is), atomically."""
    weights_path, meta_path = _paths(path)
    # the weights' header names the format only; the version lies in the JSON description
    write_weights(weights_path, classifier.net.state_dict(), header_fields(CLASSIFIER_FORMAT, None))
    meta = dict(classifier.meta)
    meta |= {
        "format": CLASSIFIER_FORMAT,
        "version": CLASSIFIER_VERSION,
        "task": classifier.task,
        "height": classifier.size[0],
        "width": classifier.size[1],
        "heads": {name: head.out_features for name, head in classifier.net.heads.items()},
        "parameters": sum(p.numel() for p in classifier.net.parameters()),
        "weights_bytes": weights_path.stat().st_size,
    }
    write_description(meta_path, meta)
    return weights_path, meta_path


def load_classifier(path: str | Path) -> Classifier:
    """Read a classifier written by :func:`save_classifier` (``PATH`` with or without suffix).

    CheckpointError, naming the file, when it is missing, of another format or version,
    or when its weights do not fit the network its JSON describes (another image size,
    another set of faces).
    """
    weights_path, meta_path = _paths(path)
    meta = read_description(meta_path, CLASSIFIER_FORMAT, CLASSIFIER_VERSION, "classifier")
    task = meta.get("task")
    if task not in TASKS:
        raise CheckpointError(f"{meta_path}: unknown task {task!r}")
    try:
        size = (int(meta["height"]), int(meta["width"]))
        heads = {str(k): int(v) for k, v in meta["heads"].items()}
        width = int(meta.get("config", {}).get("width", 16))
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise CheckpointError(f"{meta_path}: malformed classifier description ({err})") from None
    if task == "content" and heads != dict(JAMO_HEADS):
        raise CheckpointError(f"{meta_path}: content heads {heads}, expected {dict(JAMO_HEADS)}")
    if task == "style" and heads.get("face") != len(meta.get("faces", [])):
        raise CheckpointError(
            f"{meta_path}: a style head of {heads.get('face')} faces but "
            f"{len(meta.get('faces', []))} faces listed"
        )
    state = read_weights(weights_path, CLASSIFIER_FORMAT, None, "classifier file").tensors
    net = GlyphClassifierNet(heads, width, size)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise CheckpointError(
            f"{weights_path}: weights do not fit the classifier {meta_path.name} describes "
            f"({size[0]}×{size[1]}, heads {heads}): {first}"
        ) from None
    net.eval()
    return Classifier(net=net, task=task, meta=meta, path=weights_path)


def default_content_classifier_path() -> Path:
    """Where the shipped content classifier lies (package data, beside the other shipped
    weights)."""
    return shipped_weights(DEFAULT_CONTENT_CLASSIFIER)


def load_default_content_classifier() -> Classifier:
    """The content classifier shipped with hangulgan (32×32 glyphs)."""
    return load_classifier(default_content_classifier_path())


# --------------------------------------------------------------------------- export


def heldout_accuracy(classifier: Classifier, data: ClassifierDataConfig) -> dict[str, Any]:
    """Accuracy on the split's held-out real glyphs: faces (content) or syllables (style)."""
    from hangulgan.data.corpus import Corpus

    corpus = Corpus.open(data.corpus)
    split = make_split(data, corpus.face_names, str(corpus.folder))
    if classifier.task == "content":
        if not split.holdout_faces:
            raise ConfigError("the content classifier's run held out no face (--holdout-faces)")
        per_face: dict[str, float] = {}
        totals = {"glyphs": 0, "right": 0.0}
        jamo_right = np.zeros(3)
        for name in split.holdout_faces:
            glyphs = corpus.face(name, augmented=False)
            keep = np.ones(len(glyphs), dtype=bool)
            if split.charset is not None:
                keep = np.isin(glyphs.codepoints, split.charset)
            images = np.asarray(glyphs.images[keep])
            codepoints = glyphs.codepoints[keep]
            if not len(images):
                continue
            scores = content_accuracy(classifier, images, codepoints)
            per_face[name] = scores["content_accuracy"]
            totals["glyphs"] += len(images)
            totals["right"] += scores["content_accuracy"] * len(images)
            jamo_right += len(images) * np.array(
                [scores[f"{j}_accuracy"] for j in ("initial", "medial", "final")]
            )
        glyph_count = max(totals["glyphs"], 1)
        return {
            "held_out": "faces",
            "faces": split.holdout_faces,
            "glyphs": totals["glyphs"],
            "content_accuracy": totals["right"] / glyph_count,
            "initial_accuracy": jamo_right[0] / glyph_count,
            "medial_accuracy": jamo_right[1] / glyph_count,
            "final_accuracy": jamo_right[2] / glyph_count,
            "per_face": per_face,
        }
    if not split.holdout_syllables.size:
        raise ConfigError("the style classifier's run held out no syllable (--holdout-fraction)")
    right = count = 0
    per_face = {}
    for name in classifier.face_names:
        glyphs = corpus.face(name, augmented=False)
        keep = np.isin(glyphs.codepoints, split.holdout_syllables)
        if not keep.any():
            continue
        score = style_accuracy(classifier, np.asarray(glyphs.images[keep]), name)
        per_face[name] = score
        right += score * int(keep.sum())
        count += int(keep.sum())
    return {
        "held_out": "syllables",
        "syllables": int(split.holdout_syllables.size),
        "glyphs": count,
        "style_accuracy": right / max(count, 1),
        "per_face": per_face,
    }


def heldout_sample(
    classifier: Classifier, data: ClassifierDataConfig, count: int = 20000, seed: int = 0
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Up to ``count`` held-out real glyphs (a seeded sample) and their targets per head."""
    from hangulgan.data.corpus import Corpus

    corpus = Corpus.open(data.corpus)
    split = make_split(data, corpus.face_names, str(corpus.folder))
    images, codepoints, faces = [], [], []
    names = split.holdout_faces if classifier.task == "content" else classifier.face_names
    for name in names:
        glyphs = corpus.face(name, augmented=False)
        if classifier.task == "content":
            keep = np.ones(len(glyphs), dtype=bool)
            if split.charset is not None:
                keep = np.isin(glyphs.codepoints, split.charset)
        else:
            keep = np.isin(glyphs.codepoints, split.holdout_syllables)
        images.append(np.asarray(glyphs.images[keep]))
        codepoints.append(glyphs.codepoints[keep].astype(np.int64))
        faces.append(
            np.full(
                int(keep.sum()),
                classifier.face_names.index(name) if name in classifier.face_names else -1,
            )
        )
    all_images = np.concatenate(images)
    picks = np.random.default_rng(seed).permutation(len(all_images))[:count]
    cps = np.concatenate(codepoints)[picks]
    if classifier.task == "content":
        jamo = hangul.jamo_table(cps)
        targets = {"initial": jamo[:, 0], "medial": jamo[:, 1], "final": jamo[:, 2]}
    else:
        targets = {"face": np.concatenate(faces)[picks]}
    return all_images[picks], targets


def fit_temperatures(
    classifier: Classifier, images: np.ndarray, targets: dict[str, np.ndarray]
) -> dict[str, float]:
    """Per head, the temperature T that minimises the cross-entropy of logits / T on the
    given real glyphs (temperature scaling, Guo et al. 2017; accuracy is unchanged)."""
    if not len(images):
        return {name: 1.0 for name in classifier.net.heads}
    _, logits = classifier.analyze(images)
    grid = torch.exp(torch.linspace(math.log(0.05), math.log(5.0), 241))
    fitted = {}
    for name, values in logits.items():
        target = torch.as_tensor(targets[name], dtype=torch.long)
        losses = torch.stack([F.cross_entropy(values.float() / t, target) for t in grid.tolist()])
        fitted[name] = round(float(grid[int(losses.argmin())]), 4)
    return fitted


def export_classifier(
    run_dir: str | Path, out: str | Path, checkpoint: str | Path | None = None
) -> tuple[Classifier, tuple[Path, Path]]:
    """Measure a classifier run on its held-out data and write it as a classifier file."""
    from hangulgan.train.runs import open_run

    run = open_run(run_dir, checkpoint=checkpoint)
    if run.config.model != GlyphClassifier.name:
        raise ConfigError(f"{run_dir}: holds a {run.config.model!r} run, not a classifier")
    model: GlyphClassifier = run.model  # type: ignore[assignment]
    data: ClassifierDataConfig = run.config.data
    info = model.info
    split = make_split(data, [*info.face_names, *data.holdout_face_list], str(data.corpus))
    meta = {
        "config": model.config.to_dict(),
        "faces": list(info.face_names),
        "syllables": info.syllables,
        "holdout_faces": split.holdout_faces,
        "holdout_syllables": "".join(chr(int(c)) for c in split.holdout_syllables),
        "corpus": str(data.corpus),
        "run": str(run_dir),
        "step": run.step,
    }
    train_seconds = _training_seconds(Path(run_dir))
    if train_seconds is not None:
        meta["train_seconds"] = train_seconds  # the trainer's clock: training steps only
    classifier = Classifier(net=model.net, task=model.config.task, meta=meta)
    classifier.meta["heldout"] = heldout_accuracy(classifier, data)
    classifier.meta["temperatures"] = fit_temperatures(
        classifier, *heldout_sample(classifier, data)
    )
    paths = save_classifier(classifier, out)
    classifier.path = paths[0]
    return classifier, paths


def _training_seconds(run_dir: Path) -> float | None:
    """Seconds of training the run's metrics.csv records at its last row (None if absent)."""
    import csv

    try:
        with open(run_dir / "metrics.csv", encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        return float(rows[-1]["seconds"]) if rows else None
    except (OSError, KeyError, ValueError):
        return None
