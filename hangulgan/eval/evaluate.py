"""``hangulgan evaluate``: glyph sets, trained runs and fonts, with baselines in one table.

* :func:`evaluate_glyphsets` compares a generated glyph set with a real one on the
  syllables both hold (every metric of :mod:`hangulgan.eval.metrics`) and puts two plain
  baselines beside it, measured the same way against the same real glyphs:

  - ``copy NanumGothic``: the syllables copied from NanumGothic (from the corpus);
  - ``copy nearest face``: copied from the corpus face nearest the real one. The rule:
    over up to 64 reference syllables spread evenly over the shared ones, the face (not
    the real face itself, nor one whose drawings of them are identical to it) with the
    lowest mean L1 to the real glyphs; where it lacks a syllable, NanumGothic's is copied.
    The same rule as the few-shot evaluation (:mod:`hangulgan.models.styled_fewshot`).

* :func:`evaluate_run` draws from a trained generator: a conditional one draws its
  syllables as a glyph set, measured as above against its training face; an unconditional
  one draws N samples, measured by legibility, diversity and Glyph-FID against N of its
  training glyphs, beside another N real glyphs as the baseline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hangulgan import hangul
from hangulgan.data.corpus import Corpus
from hangulgan.data.glyphset import GlyphSet
from hangulgan.data.sheets import write_tile_sheet
from hangulgan.errors import ConfigError, CorpusError, GlyphSetError
from hangulgan.eval import metrics
from hangulgan.eval.classifier import Classifier
from hangulgan.io import write_json_atomic

SOURCE_FACE = "NanumGothic"
REFERENCE_SYLLABLES = 64
COLUMNS = (
    "count",
    "content_accuracy",
    "glyph_fid",
    "style_accuracy",
    "l1",
    "rmse",
    "psnr",
    "ssim",
    "ms_ssim",
    "ink_iou",
    "legibility",
    "diversity",
    "stroke_width",
    "stroke_width_error",
    "slant",
    "slant_error",
    "coverage",
)


@dataclass
class Report:
    """Rows of metric means (the model first, then the baselines) and notes."""

    title: str
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        rows = {
            name: {k: v for k, v in row.items() if k != "notes"} for name, row in self.rows.items()
        }
        return {"title": self.title, "rows": rows, "notes": self.notes}

    def table(self) -> str:
        """A plain-text table: one row per method, one column per metric it has."""
        present = [c for c in COLUMNS if any(c in row for row in self.rows.values())]
        width = max([len(name) for name in self.rows] + [6]) + 2
        lines = [self.title, f"{'':{width}s}" + "".join(f"{c:>17s}" for c in present)]
        for name, row in self.rows.items():
            cells = []
            for column in present:
                value = row.get(column)
                if value is None:
                    cells.append(f"{'—':>17s}")
                elif isinstance(value, int):
                    cells.append(f"{value:>17d}")
                else:
                    cells.append(f"{value:>17.4f}")
            lines.append(f"{name:{width}s}" + "".join(cells))
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)

    def write_json(self, path: str | Path) -> None:
        """Write the report as JSON, atomically."""
        write_json_atomic(path, self.to_dict())


def _references(codepoints: np.ndarray) -> np.ndarray:
    picks = np.linspace(0, len(codepoints) - 1, min(REFERENCE_SYLLABLES, len(codepoints)))
    return codepoints[np.unique(picks.round().astype(int))]


def nearest_face(real: GlyphSet, corpus: Corpus, exclude: set[str]) -> tuple[str | None, float]:
    """The corpus face nearest ``real`` by the module docstring's rule, and its mean L1."""
    references = _references(real.codepoints)
    target = np.stack([real.image(int(cp)) for cp in references]).astype(np.float32) / 255
    best, best_distance = None, np.inf
    for name in corpus.face_names:
        if name in exclude:
            continue
        glyphs = corpus.face(name, augmented=False)
        held = np.isin(references, glyphs.codepoints)
        if not held.any():
            continue
        drawn = np.stack([glyphs.image(int(cp)) for cp in references[held]]).astype(np.float32)
        distance = float(np.abs(drawn / 255 - target[held]).mean())
        if distance == 0.0:  # the same drawings: a copy of the answer, not a baseline
            continue
        if distance < best_distance:
            best, best_distance = name, distance
    return best, best_distance


def _copy_of(source: GlyphSet, codepoints: np.ndarray, fallback: GlyphSet | None) -> GlyphSet:
    """``codepoints`` copied from ``source``, from ``fallback`` where ``source`` lacks them."""
    held = set(source.codepoints.tolist())
    images, kept = [], []
    for cp in codepoints.tolist():
        if cp in held:
            images.append(source.image(cp))
        elif fallback is not None and cp in set(fallback.codepoints.tolist()):
            images.append(fallback.image(cp))
        else:
            continue
        kept.append(cp)
    if not kept:
        raise GlyphSetError(f"{source.name}: draws none of the syllables compared")
    return GlyphSet(images=np.stack(images), codepoints=np.array(kept), name=source.name)


def baselines(
    real: GlyphSet, corpus: Corpus | None, real_face: str | None = None
) -> tuple[dict[str, GlyphSet], list[str]]:
    """The baseline glyph sets for ``real`` (see the module docstring), and notes."""
    if corpus is None:
        return {}, ["no corpus to copy baselines from (give --corpus)"]
    if corpus.size != real.size:
        return {}, [
            f"{corpus.folder}: {corpus.size[0]}×{corpus.size[1]} glyphs, the real set "
            f"{real.size[0]}×{real.size[1]}: no baselines"
        ]
    notes: list[str] = []
    source = None
    if SOURCE_FACE in corpus.face_names:
        source = corpus.face(SOURCE_FACE, augmented=False)
    else:
        notes.append(f"{corpus.folder}: has no {SOURCE_FACE} face to copy")
    rows: dict[str, GlyphSet] = {}
    if source is not None:
        rows[f"copy {SOURCE_FACE}"] = _copy_of(source, real.codepoints, None)
    exclude = {real_face} if real_face else set()
    near, distance = nearest_face(real, corpus, exclude)
    if near is not None:
        rows[f"copy nearest face ({near})"] = _copy_of(
            corpus.face(near, augmented=False), real.codepoints, source
        )
        notes.append(f"nearest corpus face: {near} (mean L1 {distance:.4f} on the references)")
    return rows, notes


def evaluate_glyphsets(
    generated: GlyphSet,
    real: GlyphSet,
    *,
    corpus: Corpus | None = None,
    real_face: str | None = None,
    classifier: Classifier | None = None,
    style_classifier: Classifier | None = None,
    with_baselines: bool = True,
    title: str | None = None,
) -> Report:
    """Every metric of ``generated`` against ``real`` on shared syllables, with baselines."""
    aligned = metrics.align_glyphsets(generated, real)  # checks both sets, notes
    shared_real = real.subset(aligned.codepoints)
    report = Report(title or f"{generated.name} against {real.name}")
    report.notes += aligned.notes
    face = real_face if style_classifier is not None else None
    if style_classifier is not None and face not in style_classifier.face_names:
        report.notes.append(
            f"the style classifier does not know the real face {face!r}: no style accuracy"
        )
        face = None
    if classifier is not None:
        report.notes += _charset_note(classifier, aligned.codepoints)
    row = metrics.compare_glyphsets(generated, shared_real, classifier, style_classifier, face)
    row.pop("notes", None)
    report.rows[generated.name] = row
    if with_baselines:
        sets, notes = baselines(shared_real, corpus, real_face)
        report.notes += notes
        for name, glyphs in sets.items():
            base = metrics.compare_glyphsets(
                glyphs, shared_real, classifier, style_classifier, face
            )
            base.pop("notes", None)
            report.rows[name] = base
    # the real glyphs' own drawing, which the rows above are measured against
    report.rows[f"real ({real.name})"] = {"count": len(shared_real)} | metrics.shape_measures(
        shared_real.images
    )
    if classifier is not None:
        real_row = metrics.content_accuracy(
            classifier,
            np.asarray(shared_real.images),
            shared_real.codepoints,
        )
        report.notes.append(
            f"the content classifier reads the real glyphs at "
            f"{real_row['content_accuracy']:.4f} (the ceiling of content accuracy here)"
        )
    return report


def _charset_note(classifier: Classifier, codepoints: np.ndarray) -> list[str]:
    trained = classifier.meta.get("syllables")
    if not trained:
        return []
    outside = int((~np.isin(codepoints, [ord(c) for c in trained])).sum())
    if not outside:
        return []
    return [
        f"{outside} of the {len(codepoints)} syllables were not in the classifier's training "
        "charset (it reads them from their jamo)"
    ]


def write_sheet(
    generated: GlyphSet, real: GlyphSet, out: str | Path, count: int = 48, columns: int = 16
) -> Path:
    """A PNG of rows real | generated | difference for ``count`` shared syllables."""
    aligned = metrics.align_glyphsets(generated, real)
    picks = np.unique(
        np.linspace(0, len(aligned.codepoints) - 1, min(count, len(aligned.codepoints)))
        .round()
        .astype(int)
    )
    tiles: list[list[np.ndarray | None]] = []
    for start in range(0, len(picks), columns):
        chunk = picks[start : start + columns]
        real_row = [aligned.real[i] for i in chunk]
        gen_row = [aligned.generated[i] for i in chunk]
        diff_row = [
            np.abs(aligned.real[i].astype(np.int16) - aligned.generated[i]).astype(np.uint8)
            for i in chunk
        ]
        tiles += [real_row, gen_row, diff_row, [None] * len(chunk)]
    return write_tile_sheet(tiles[:-1], out, scale=2)


# --------------------------------------------------------------------------- runs


def _training_glyphs(run: Any, n: int, seed: int) -> np.ndarray:
    dataset = type(run.model).make_dataset(run.config.data, run.model.config)
    rng = np.random.default_rng(seed)
    picks = np.sort(rng.choice(len(dataset), size=min(n, len(dataset)), replace=False))
    return (
        np.asarray(dataset.raw_images(picks))
        if hasattr(dataset, "raw_images")
        else _images(dataset, picks)
    )


def _images(dataset: Any, picks: np.ndarray) -> np.ndarray:
    from hangulgan.train.grid import to_uint8_ink

    return to_uint8_ink(dataset.get_batch(picks, seed=0)["image"])


def evaluate_run(
    run_dir: str | Path,
    *,
    classifier: Classifier,
    real: GlyphSet | None = None,
    real_face: str | None = None,
    corpus: Corpus | None = None,
    samples: int = 1000,
    seed: int = 0,
    style_classifier: Classifier | None = None,
) -> tuple[Report, GlyphSet | None, GlyphSet | None]:
    """Evaluate a trained generator (see the module docstring); returns the report and, for a
    conditional run, the glyph set it drew and the real one it was compared with."""
    from hangulgan.train.contract import Capability
    from hangulgan.train.grid import to_uint8_ink
    from hangulgan.train.runs import open_run, run_capabilities, sample_images

    run = open_run(run_dir)
    capabilities = run_capabilities(run)
    if Capability.GLYPH_SET in capabilities:
        syllables = hangul.charset_from_text(run.model.info.syllables)
        if not syllables:
            raise ConfigError(f"{run_dir}: the run records no syllables to draw")
        images = sample_images(
            run, len(syllables), seed=seed, syllables=syllables, shared_noise=True
        )
        generated = GlyphSet(
            images=to_uint8_ink(images),
            codepoints=np.asarray(syllables, dtype=np.int32),
            name=f"{run.run_dir.name} (step {run.step})",
        )
        notes = []
        if real is None:
            faces = list(run.model.info.face_names)
            corpus_folder = getattr(run.config.data, "corpus", None)
            if len(faces) != 1 or not corpus_folder:
                raise ConfigError(
                    f"{run_dir}: trained on {len(faces)} faces; name the real glyphs with --real"
                )
            try:
                corpus = corpus or Corpus.open(corpus_folder)
                real = corpus.face(faces[0], augmented=False)
            except CorpusError as err:
                raise ConfigError(
                    f"{run_dir}: its training face cannot be read ({err}); give --real"
                ) from None
            real_face = faces[0]
            notes.append(f"real glyphs: {faces[0]} from {corpus_folder} (the training face)")
        report = evaluate_glyphsets(
            generated,
            real,
            corpus=corpus,
            real_face=real_face,
            classifier=classifier,
            style_classifier=style_classifier,
            title=f"{run.run_dir} ({run.config.model}, conditional, step {run.step})",
        )
        report.notes = notes + report.notes
        return report, generated, real
    if samples < 2:
        raise ConfigError(f"--n {samples}: an unconditional run needs at least 2 samples")
    drawn = to_uint8_ink(sample_images(run, samples, seed=seed))
    training = _training_glyphs(run, 2 * samples, seed)
    half = len(training) // 2
    report = Report(f"{run.run_dir} ({run.config.model}, unconditional, step {run.step})")
    if drawn.shape[1:] != classifier.size:
        raise ConfigError(
            f"{run_dir}: draws {drawn.shape[1]}×{drawn.shape[2]} glyphs, the classifier reads "
            f"{classifier.size[0]}×{classifier.size[1]}"
        )
    row: dict[str, Any] = {"count": len(drawn)} | metrics.legibility(classifier, drawn)
    row["glyph_fid"] = metrics.glyph_fid(classifier, drawn, training[:half])
    report.rows[f"{run.run_dir.name} samples"] = row
    real_row: dict[str, Any] = {"count": len(training) - half}
    real_row |= metrics.legibility(classifier, training[half:])
    real_row["glyph_fid"] = metrics.glyph_fid(classifier, training[half:], training[:half])
    report.rows["real training glyphs"] = real_row
    report.notes.append(
        f"Glyph-FID against {half} training glyphs; the baseline row is {len(training) - half} "
        "other training glyphs. Legibility: share read with confidence ≥ 0.9; diversity: "
        "distinct syllables among those reads."
    )
    for row_values in report.rows.values():
        row_values.pop("samples", None)
        row_values.pop("distinct_share", None)
    return report, None, None


def read_report(path: str | Path) -> dict[str, Any]:
    """A report written by :meth:`Report.write_json` (for tests and scripts)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
