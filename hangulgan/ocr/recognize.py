"""``ocr-eval``: read a split of an OCR export with a trained CRNN run and score it.

The run's model is rebuilt from its config and a checkpoint (the newest by default); the
split's images are resized to the run's height, read in batches of similar widths (little
padding) by greedy CTC decoding, and scored (:mod:`hangulgan.ocr.scoring`). Labels may hold
characters outside the run's alphabet (a test set in other fonts, other text): they count
as errors, as they would for any recognizer, and the report says how many there were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hangulgan.errors import ConfigError
from hangulgan.ocr.lines import open_split
from hangulgan.ocr.scoring import Scores, edit_distance

MODEL = "crnn"


@dataclass
class Evaluation:
    """What ``ocr-eval`` measured."""

    run: str
    data: str
    split: str
    step: int  # of the checkpoint read
    checkpoint: str
    scores: Scores
    unknown_characters: int = 0  # label characters outside the run's alphabet
    worst: list[dict[str, Any]] = field(default_factory=list)  # samples read worst

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "run": self.run,
            "data": self.data,
            "split": self.split,
            "step": self.step,
            "checkpoint": self.checkpoint,
            **self.scores.to_dict(),
            "unknown_characters": self.unknown_characters,
            "worst": self.worst,
        }


def check_run(run_dir: str | Path) -> None:
    """RunError when ``run_dir`` is no run, ConfigError when it is a run of another model."""
    from hangulgan.train.config import RunConfig

    saved = RunConfig.load(run_dir)
    if saved.model != MODEL:
        raise ConfigError(
            f"{run_dir}: holds a {saved.model!r} run; ocr-eval reads `hangulgan train crnn` runs"
        )


def evaluate(
    run_dir: str | Path,
    data: str | Path,
    split: str | None = None,
    *,
    checkpoint: str | Path | None = None,
    device: str = "cpu",
    batch: int = 64,
    worst: int = 0,
) -> Evaluation:
    """Score run ``run_dir`` on ``split`` of export ``data`` (default: its ``test`` split,
    or all of an unsplit export); ``worst`` keeps that many samples with the most errors."""
    if batch < 1:
        raise ConfigError(f"--batch {batch}: must be 1 or more")
    check_run(run_dir)  # the run first: a wrong RUN is named before the data is read
    chosen = open_split(data, split, default="test")
    from hangulgan.ocr.crnn import line_batch
    from hangulgan.train.runs import open_run

    run = open_run(run_dir, checkpoint, device)
    model = run.model
    net = (run.networks() or {}).get("crnn")  # the EMA copy when the run kept one
    height = model.config.height
    codec = model.codec
    labels = chosen.labels
    order = list(range(len(labels)))
    read: list[str] = [""] * len(labels)
    # a chunk at a time in memory; within it, images of similar widths share a batch
    chunk = 64 * batch
    for start in range(0, len(order), chunk):
        indices = order[start : start + chunk]
        images = chosen.images(indices, height)
        by_width = sorted(range(len(indices)), key=lambda k: images[k].shape[1])
        for at in range(0, len(by_width), batch):
            members = by_width[at : at + batch]
            texts = model.read(line_batch([images[k] for k in members]), net)
            for k, text in zip(members, texts, strict=True):
                read[indices[k]] = text
    scores = Scores()
    for label, text in zip(labels, read, strict=True):
        scores.add(label, text)
    unknown = sum(len([ch for ch in label if ch not in codec.index]) for label in labels)
    kept = []
    if worst:
        ranked = sorted(
            range(len(labels)),
            key=lambda i: (-edit_distance(labels[i], read[i]) / max(len(labels[i]), 1), i),
        )
        kept = [
            {"sample": i + 1, "label": labels[i], "read": read[i]}
            for i in ranked[:worst]
            if labels[i] != read[i]
        ]
    return Evaluation(
        run=str(run_dir),
        data=str(chosen.folder),
        split=chosen.split,
        step=run.step,
        checkpoint=str(run.checkpoint),
        scores=scores,
        unknown_characters=unknown,
        worst=kept,
    )
