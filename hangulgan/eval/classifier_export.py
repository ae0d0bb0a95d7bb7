"""Turning a classifier run into a classifier file: accuracy on its held-out data, and the
per-head temperatures that calibrate its confidences (``hangulgan classifier-export``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from hangulgan import hangul
from hangulgan.errors import ConfigError
from hangulgan.eval.classifier import Classifier, save_classifier
from hangulgan.eval.classifier_config import ClassifierDataConfig
from hangulgan.eval.classifier_model import GlyphClassifier, make_split
from hangulgan.eval.metrics import content_accuracy, style_accuracy


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
