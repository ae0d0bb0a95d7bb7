"""The few-shot evaluation protocol of DM-Font / LF-Font, on a trained styled generator.

Three cells, each over faces and syllables a run kept apart:

* ``seen face, unseen syllables``: faces trained on, syllables never shown (not even as
  references);
* ``unseen face, seen syllables``: held-out faces, syllables trained on;
* ``unseen face, unseen syllables``: held-out faces and held-out syllables.

For every face the generator gets only K references (the default eight, or the first K
of the greedy jamo cover the face draws, none of them a target), and every table puts two
plain baselines beside it, fed the same references:

* ``copy NanumGothic``: the target syllables in the content face, as they are;
* ``copy nearest face``: the target syllables copied from the training face whose drawings
  of the K references are nearest (mean L1) to the target face's — the best a copy can do
  knowing what the model knows. Where that face lacks a syllable, the content face's is
  copied (counted in ``nearest_fallbacks``).

Metrics come from :mod:`hangulgan.eval.metrics` (one module for the whole toolkit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hangulgan import hangul
from hangulgan.data.corpus import Corpus
from hangulgan.data.glyphset import GlyphSet
from hangulgan.errors import ConfigError
from hangulgan.models.styled import DEFAULT_REFERENCES, greedy_reference_cover, holdout_syllables
from hangulgan.models.styled_inference import StyledGenerator

CELLS = (
    "seen face, unseen syllables",
    "unseen face, seen syllables",
    "unseen face, unseen syllables",
)
METHODS = ("styled", "copy NanumGothic", "copy nearest face")

Metrics = Callable[[np.ndarray, np.ndarray, np.ndarray], dict[str, float]]


def pixel_means(
    generated: np.ndarray, real: np.ndarray, codepoints: np.ndarray
) -> dict[str, float]:
    """Means of :func:`hangulgan.eval.metrics.pixel_metrics` over a batch of glyphs."""
    from hangulgan.eval.metrics import pixel_metrics

    return {key: float(np.mean(values)) for key, values in pixel_metrics(generated, real).items()}


@dataclass
class CellResult:
    """Per-method metric means over one cell, and what the cell held."""

    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    faces: list[str] = field(default_factory=list)
    glyphs: int = 0
    nearest: dict[str, str] = field(default_factory=dict)  # face → nearest training face
    nearest_fallbacks: int = 0


def choose_references(glyphs: GlyphSet, k: int, exclude: set[int]) -> list[int]:
    """K references the face draws: the default eight first, then the greedy jamo cover."""
    drawn = set(glyphs.codepoints.tolist()) - exclude
    order = [ord(c) for c in DEFAULT_REFERENCES] + [ord(c) for c in greedy_reference_cover(64)]
    picks = [cp for cp in dict.fromkeys(order) if cp in drawn][:k]
    if len(picks) < k:
        rest = sorted(drawn - set(picks))
        picks += rest[: k - len(picks)]
    return picks


def nearest_face(
    references: np.ndarray,
    codepoints: list[int],
    candidates: dict[str, GlyphSet],
) -> str | None:
    """The candidate face whose drawings of ``codepoints`` are nearest (mean L1)."""
    best, best_distance = None, np.inf
    target = references.astype(np.float32)
    for name, glyphs in candidates.items():
        held = set(glyphs.codepoints.tolist())
        if not all(cp in held for cp in codepoints):
            continue
        drawn = np.stack([glyphs.image(cp) for cp in codepoints]).astype(np.float32)
        distance = float(np.abs(drawn - target).mean())
        if distance < best_distance:
            best, best_distance = name, distance
    return best


def evaluate_fewshot(
    generator: StyledGenerator,
    corpus: Corpus,
    metrics: Metrics = pixel_means,
    references: int = 8,
    per_face: int = 300,
    seen_faces: int = 12,
    seed: int = 0,
) -> dict[str, CellResult]:
    """Run the three cells (see the module docstring); ``metrics(generated, real, codepoints)``.

    ``per_face`` caps the target syllables drawn per face and ``seen_faces`` the training
    faces sampled for the first cell (spread evenly over the bank), to bound the time.
    """
    config = generator.data
    held_faces = [name for name in config.holdout_face_list if name in corpus.face_names]
    if not held_faces:
        raise ConfigError(f"{corpus.folder}: holds none of the run's held-out faces")
    held_syllables = set(holdout_syllables(config.holdout_fraction, config.split_seed).tolist())
    trained = [name for name in generator.bank_names if name in corpus.face_names]
    faces = {name: corpus.face(name, augmented=False) for name in trained + held_faces}
    candidates = {name: faces[name] for name in trained}
    spread = np.linspace(0, len(trained) - 1, min(seen_faces, len(trained))).round().astype(int)
    seen = [trained[i] for i in sorted(set(spread.tolist()))]
    rng = np.random.default_rng(seed)
    results: dict[str, CellResult] = {}
    plan = (
        (CELLS[0], seen, True),
        (CELLS[1], held_faces, False),
        (CELLS[2], held_faces, True),
    )
    for cell, cell_faces, unseen_syllables in plan:
        result = CellResult()
        sums: dict[str, dict[str, float]] = {m: {} for m in METHODS}
        for name in cell_faces:
            glyphs = faces[name]
            refs = choose_references(glyphs, references, held_syllables)
            pool = [
                cp
                for cp in glyphs.codepoints.tolist()
                if (cp in held_syllables) == unseen_syllables and cp not in refs
            ]
            if len(refs) < references or not pool:
                continue
            targets = np.sort(rng.choice(pool, size=min(per_face, len(pool)), replace=False))
            ref_images = np.stack([glyphs.image(cp) for cp in refs])
            real = np.stack([glyphs.image(int(cp)) for cp in targets])
            style = generator.style_from_images(ref_images, refs, label=name)
            drawn = generator.draw(style, targets)
            nanum = generator.content[targets - hangul.FIRST]
            others = {k: v for k, v in candidates.items() if k != name}
            near_name = nearest_face(ref_images, refs, others)
            if near_name is None:
                near = nanum
            else:
                near_glyphs = candidates[near_name]
                held = set(near_glyphs.codepoints.tolist())
                near = np.stack(
                    [
                        near_glyphs.image(int(cp))
                        if int(cp) in held
                        else generator.content[int(cp) - hangul.FIRST]
                        for cp in targets
                    ]
                )
                result.nearest_fallbacks += int(sum(int(cp) not in held for cp in targets))
                result.nearest[name] = near_name
            for method, images in zip(METHODS, (drawn, nanum, near), strict=True):
                for key, value in metrics(images, real, targets).items():
                    sums[method][key] = sums[method].get(key, 0.0) + value * len(targets)
            result.faces.append(name)
            result.glyphs += len(targets)
        if result.glyphs:
            result.metrics = {
                method: {key: value / result.glyphs for key, value in values.items()}
                for method, values in sums.items()
            }
        results[cell] = result
    return results


def format_table(results: dict[str, CellResult], keys: list[str] | None = None) -> str:
    """The cells as one text table: a row per (cell, method), a column per metric."""
    lines = []
    for cell, result in results.items():
        if not result.metrics:
            lines.append(f"{cell}: no glyphs")
            continue
        columns = keys or list(next(iter(result.metrics.values())))
        header = f"{cell} ({len(result.faces)} faces, {result.glyphs} glyphs per method)"
        lines.append(header)
        lines.append("  " + f"{'method':20s}" + "".join(f"{k:>10s}" for k in columns))
        for method, values in result.metrics.items():
            cells = "".join(f"{values.get(k, float('nan')):10.4f}" for k in columns)
            lines.append(f"  {method:20s}{cells}")
    return "\n".join(lines)


def to_json(results: dict[str, CellResult]) -> dict[str, Any]:
    """JSON-ready form of the results."""
    return {
        cell: {
            "faces": r.faces,
            "glyphs": r.glyphs,
            "nearest": r.nearest,
            "nearest_fallbacks": r.nearest_fallbacks,
            "metrics": r.metrics,
        }
        for cell, r in results.items()
    }
