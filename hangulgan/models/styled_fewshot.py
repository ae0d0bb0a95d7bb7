"""The few-shot evaluation protocol of DM-Font / LF-Font, on a trained styled generator.

Three cells, each over faces and syllables a run kept apart:

* ``seen face, unseen syllables``: faces trained on (but the content face), syllables never
  shown (not even as references);
* ``unseen face, seen syllables``: held-out faces, syllables trained on;
* ``unseen face, unseen syllables``: held-out faces and held-out syllables.

For every face the generator gets only K references (the default eight, or the first K
of the greedy jamo cover the face draws, none of them a target), and every table puts two
plain baselines beside it, fed the same references:

* ``copy NanumGothic``: the target syllables in the content face, as they are;
* ``copy nearest face``: the target syllables copied from the training face whose drawings
  of the K references are nearest (mean L1, :func:`hangulgan.eval.evaluate.nearest_face`)
  to the target face's — the best a copy can do knowing what the model knows. Where that
  face lacks a syllable, the content face's is copied (counted in ``nearest_fallbacks``).

Metrics come from :mod:`hangulgan.eval.metrics` (one module for the whole toolkit). The
protocol lives with the model it judges, as translation's evaluation does with translation
(:mod:`hangulgan.translate.infer`): the families use the eval package's instruments, and
eval imports no family, so no import runs in a circle.
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
from hangulgan.eval.evaluate import nearest_face
from hangulgan.eval.metrics import content_accuracy, glyph_fid
from hangulgan.models.styled_inference import StyledGenerator
from hangulgan.models.styled_split import (
    DEFAULT_REFERENCES,
    greedy_reference_cover,
    holdout_syllables,
)

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
    # face → method → metric means over that face's targets (the per-face rows)
    per_face: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)


def choose_references(glyphs: GlyphSet, k: int, exclude: set[int]) -> list[int]:
    """K references the face draws: the default eight first, then the greedy jamo cover."""
    drawn = set(glyphs.codepoints.tolist()) - exclude
    order = [ord(c) for c in DEFAULT_REFERENCES] + [ord(c) for c in greedy_reference_cover(64)]
    picks = [cp for cp in dict.fromkeys(order) if cp in drawn][:k]
    if len(picks) < k:
        rest = sorted(drawn - set(picks))
        picks += rest[: k - len(picks)]
    return picks


def seen_face_sample(trained: list[str], content_face: str, count: int) -> list[str]:
    """The training faces of the seen-face cell: ``count`` of them (0: all) spread evenly
    over their sorted names, the content face left out (it is the model's input, so drawing
    it tells nothing). Sorted, so that two runs on one corpus meet the same faces whatever
    order their banks list them in."""
    pool = sorted(name for name in trained if name != content_face)
    count = len(pool) if count == 0 else min(count, len(pool))
    spread = np.linspace(0, len(pool) - 1, count).round().astype(int) if count else []
    return [pool[i] for i in sorted(set(np.asarray(spread).tolist()))]


def evaluate_fewshot(
    generator: StyledGenerator,
    corpus: Corpus,
    metrics: Metrics = pixel_means,
    references: int = 8,
    per_face: int = 300,
    seen_faces: int = 12,
    seed: int = 0,
    classifier: Any = None,
    adapt_steps: int = 0,
) -> dict[str, CellResult]:
    """Run the three cells (see the module docstring); ``metrics(generated, real, codepoints)``.

    With ``adapt_steps`` the generator is adapted to each face's references before it draws
    (as ``generate --adapt`` does; seed 0), a run of its own per face.

    With a content ``classifier`` (:mod:`hangulgan.eval.classifier`) each cell also gets
    content accuracy (all three jamo read right) and Glyph-FID against the real glyphs.

    ``per_face`` caps the target syllables drawn per face and ``seen_faces`` the training
    faces sampled for the first cell (spread evenly over their names in sorted order, so
    two runs on one corpus are judged on the same faces), to bound the time; 0 takes all.
    """
    config = generator.data
    held_faces = [name for name in config.holdout_face_list if name in corpus.face_names]
    if not held_faces:
        raise ConfigError(f"{corpus.folder}: holds none of the run's held-out faces")
    held_syllables = set(holdout_syllables(config.holdout_fraction, config.split_seed).tolist())
    trained = [name for name in generator.bank_names if name in corpus.face_names]
    seen = seen_face_sample(trained, config.content_face, seen_faces)
    faces = {name: corpus.face(name, augmented=False) for name in trained + held_faces}
    candidates = {name: faces[name] for name in trained}
    excluded = set(corpus.face_names) - set(trained)  # held-out faces are no baseline
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
        pools: dict[str, list[np.ndarray]] = {m: [] for m in METHODS}
        real_pool: list[np.ndarray] = []
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
            drawer = generator
            if adapt_steps:
                drawer = generator.adapted(ref_images, refs, steps=adapt_steps, label=name)
            style = drawer.style_from_images(ref_images, refs, label=name)
            drawn = drawer.draw(style, targets)
            nanum = generator.content[targets - hangul.FIRST]
            # the nearest training face by the references alone (evaluate's rule)
            known = GlyphSet(images=ref_images, codepoints=np.asarray(refs), name=name)
            near_name, _ = nearest_face(known, corpus, exclude=excluded | {name})
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
            result.per_face[name] = {}
            for method, images in zip(METHODS, (drawn, nanum, near), strict=True):
                values = metrics(images, real, targets)
                if classifier is not None:
                    read = content_accuracy(classifier, images, targets)
                    values["content_accuracy"] = read["content_accuracy"]
                    pools[method].append(images)
                result.per_face[name][method] = dict(values)
                for key, value in values.items():
                    sums[method][key] = sums[method].get(key, 0.0) + value * len(targets)
            real_pool.append(real)
            result.faces.append(name)
            result.glyphs += len(targets)
        if result.glyphs:
            result.metrics = {
                method: {key: value / result.glyphs for key, value in values.items()}
                for method, values in sums.items()
            }
            if classifier is not None:
                real_all = np.concatenate(real_pool)
                for method in METHODS:
                    fake_all = np.concatenate(pools[method])
                    result.metrics[method]["glyph_fid"] = glyph_fid(classifier, fake_all, real_all)
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
        widths = [max(10, len(k) + 2) for k in columns]
        lines.append(
            "  "
            + f"{'method':20s}"
            + "".join(f"{k:>{w}s}" for k, w in zip(columns, widths, strict=True))
        )
        for method, values in result.metrics.items():
            cells = "".join(
                f"{values.get(k, float('nan')):{w}.4f}"
                for k, w in zip(columns, widths, strict=True)
            )
            lines.append(f"  {method:20s}{cells}")
        lines += _face_rows(result)
    return "\n".join(lines)


def _face_rows(result: CellResult) -> list[str]:
    """A row per face (ink IoU and SSIM of each method), the worst gain over the nearest
    copy first, then the worst and median gain: a mean the easy faces carry hides the
    faces users care about."""
    first = next(iter(result.per_face.values()), {})
    if not all("ink_iou" in values and "ssim" in values for values in first.values()):
        return []  # other metrics than the pixel ones: no per-face rows to show

    def gain(name: str) -> float:
        rows = result.per_face[name]
        return rows[METHODS[0]]["ink_iou"] - rows[METHODS[2]]["ink_iou"]

    names = sorted(result.per_face, key=gain)
    lines = ["  per face, worst first (ink IoU / SSIM; gain: styled - copy nearest face)"]
    header = "".join(f"{method:>22s}" for method in METHODS)
    lines.append(f"    {'face':24s}{header}{'gain':>9s}")
    for name in names:
        rows = result.per_face[name]
        cells = "".join(f"{rows[m]['ink_iou']:>14.3f} / {rows[m]['ssim']:.3f}" for m in METHODS)
        lines.append(f"    {name:24s}{cells}{gain(name):>+9.3f}")
    gains = [gain(name) for name in names]
    lines.append(
        f"    gain over the nearest copy: worst {gains[0]:+.3f}, median "
        f"{float(np.median(gains)):+.3f}, mean {float(np.mean(gains)):+.3f}"
    )
    return lines


def to_json(results: dict[str, CellResult]) -> dict[str, Any]:
    """JSON-ready form of the results."""
    return {
        cell: {
            "faces": r.faces,
            "glyphs": r.glyphs,
            "nearest": r.nearest,
            "nearest_fallbacks": r.nearest_fallbacks,
            "metrics": r.metrics,
            "per_face": r.per_face,
        }
        for cell, r in results.items()
    }
