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
:func:`~hangulgan.eval.classifier_export.export_classifier` turns a run into a classifier
file: ``NAME.safetensors`` (the weights) beside ``NAME.json`` (task, image size, the faces
and syllables trained on, the held-out split and the accuracy measured on it).

This module reads glyphs with a trained classifier (:class:`Classifier`) and reads and
writes classifier files (:func:`load_classifier`, :func:`save_classifier`, the shipped
content classifier). The other pieces, one job each: :mod:`~hangulgan.eval.classifier_config`
(the options, torch-free), :mod:`~hangulgan.eval.classifier_net` (the network),
:mod:`~hangulgan.eval.classifier_model` (the model the trainer trains: split, batches, step)
and :mod:`~hangulgan.eval.classifier_export` (held-out accuracy, calibration, export).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hangulgan import hangul
from hangulgan.errors import CheckpointError, ConfigError
from hangulgan.eval.classifier_config import TASKS
from hangulgan.eval.classifier_net import (
    FEATURE_DIM,
    JAMO_HEADS,
    GlyphClassifierNet,
    fuse_for_inference,
    images_to_input,
)
from hangulgan.eval.metrics import resize_glyphs
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
DEFAULT_CONTENT_CLASSIFIER = "content-classifier"  # package data: hangulgan/weights/


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


def classifier_paths(path: str | Path) -> tuple[Path, Path]:
    """The two files of classifier ``path`` (with or without suffix): weights and JSON."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".json", ".safetensors") else path
    return stem.with_name(stem.name + ".safetensors"), stem.with_name(stem.name + ".json")


def save_classifier(classifier: Classifier, path: str | Path) -> tuple[Path, Path]:
    """Write ``PATH.safetensors`` (weights) and ``PATH.json`` (what it is), atomically."""
    weights_path, meta_path = classifier_paths(path)
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
    weights_path, meta_path = classifier_paths(path)
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
