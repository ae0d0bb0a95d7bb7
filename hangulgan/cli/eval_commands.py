"""Evaluation commands: ``evaluate`` (glyph sets, runs, fonts) and ``classifier-export``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hangulgan.errors import ConfigError

# The "format" of every JSON report evaluate writes: what its --force may replace.
REPORT_FORMAT = "hangulgan.evaluation"


def _classifier(path: Path | None):
    from hangulgan.eval.classifier import load_classifier, load_default_content_classifier

    return load_classifier(path) if path else load_default_content_classifier()


def _is_run(target: str) -> bool:
    return "::" not in target and (Path(target) / "config.json").is_file()


def _run_model(run_dir: str) -> str:
    from hangulgan.train.config import RunConfig

    return RunConfig.load(run_dir).model


def _fewshot(
    run_dir: str,
    corpus: Path | None,
    classifier,
    per_face: int,
    seen_faces: int,
    seed: int,
    adapt_steps: int,
    json_out: Path | None,
    force: bool,
) -> None:
    """A styled run or weights file by the few-shot protocol: three cells beside the copy
    baselines."""

    from hangulgan.data.corpus import Corpus
    from hangulgan.io import write_json_atomic
    from hangulgan.models.styled_fewshot import evaluate_fewshot, format_table, to_json
    from hangulgan.models.styled_inference import StyledGenerator

    generator = StyledGenerator.load(run_dir)
    folder = corpus or generator.data.corpus
    if not folder:
        raise ConfigError(f"{run_dir}: names no corpus; give --corpus")
    _check_outputs(json_out, None, force)
    results = evaluate_fewshot(
        generator,
        Corpus.open(folder),
        per_face=per_face,
        seen_faces=seen_faces,
        seed=seed,
        classifier=classifier,
        adapt_steps=adapt_steps,
    )
    keys = ["ink_iou", "l1", "rmse", "ssim", "ms_ssim", "content_accuracy", "glyph_fid"]
    click.echo(format_table(results, keys))
    for cell, result in results.items():
        if result.nearest:
            pairs = ", ".join(f"{a}→{b}" for a, b in result.nearest.items())
            click.echo(f"nearest faces ({cell}): {pairs}")
    if json_out:
        write_json_atomic(json_out, {"format": REPORT_FORMAT} | to_json(results))
        click.echo(f"json: {json_out}")


def _check_outputs(json_out: Path | None, sheet: Path | None, force: bool) -> None:
    """ConfigError unless the outputs may be written: new files, or with ``force`` a report
    or sheet that hangulgan wrote (checked after the inputs, before any work)."""
    from hangulgan.cli.outputs import check_json_out, check_png_out

    if json_out is not None:
        check_json_out(json_out, force, REPORT_FORMAT, "--json")
    if sheet is not None:
        check_png_out(sheet, force, "--sheet")
    if json_out is not None and sheet is not None and json_out.resolve() == sheet.resolve():
        raise ConfigError(f"{json_out}: given as both --json and --sheet")


def _run_draws_syllables(run_dir: str) -> bool:
    from hangulgan.train.config import RunConfig
    from hangulgan.train.contract import Capability
    from hangulgan.train.registry import get_model_class

    saved = RunConfig.load(run_dir)
    model_cls = get_model_class(saved.model)
    return Capability.GLYPH_SET in model_cls.capabilities(saved.model_settings(model_cls))


@click.command("evaluate")
@click.argument("target", required=False)
@click.option("--real", help="Real glyphs to compare with: a glyph set folder or CORPUS::FACE.")
@click.option(
    "--corpus",
    type=click.Path(path_type=Path),
    help="Corpus to copy the baselines from (default: REAL's corpus, or the run's).",
)
@click.option(
    "--classifier",
    type=click.Path(path_type=Path),
    help="Content classifier (NAME.safetensors + NAME.json; default: the shipped one).",
)
@click.option(
    "--style-classifier",
    type=click.Path(path_type=Path),
    help="Style classifier, for style accuracy when REAL is a face it was trained on.",
)
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="Write the report here.")
@click.option(
    "--sheet",
    type=click.Path(path_type=Path),
    help="Write a PNG with rows real | generated | difference for a sample of syllables.",
)
@click.option("--n", "samples", default=1000, show_default=True, help="Samples of a run.")
@click.option("--seed", default=0, show_default=True, help="Seed of the samples.")
@click.option("--no-baselines", is_flag=True, help="Leave out the copy baselines.")
@click.option(
    "--per-face",
    default=300,
    show_default=True,
    type=click.IntRange(1),
    help="A styled run: target syllables per face in each cell of the few-shot protocol.",
)
@click.option(
    "--seen-faces",
    default=12,
    show_default=True,
    type=click.IntRange(0),
    help="A styled run: training faces judged in the seen-face cell, spread over their "
    "sorted names; 0 judges them all.",
)
@click.option(
    "--adapt-steps",
    default=0,
    show_default=True,
    type=click.IntRange(0, 100_000),
    help="A styled run: adapt the generator to each face's references first, as generate "
    "--adapt does (0: no adaptation).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace a --json report or --sheet PNG that hangulgan wrote; never another file.",
)
@click.option(
    "--ocr",
    "ocr_font",
    type=click.Path(path_type=Path),
    help="Read a fixed Korean paragraph set in this font with Tesseract.",
)
@click.option(
    "--reference",
    type=click.Path(path_type=Path),
    help="With --ocr: a font to read the same way, side by side (e.g. the source font).",
)
def evaluate_command(
    target: str | None,
    real: str | None,
    corpus: Path | None,
    classifier: Path | None,
    style_classifier: Path | None,
    json_out: Path | None,
    sheet: Path | None,
    samples: int,
    seed: int,
    no_baselines: bool,
    per_face: int,
    seen_faces: int,
    adapt_steps: int,
    force: bool,
    ocr_font: Path | None,
    reference: Path | None,
) -> None:
    """Measure generated glyphs: a glyph set against real glyphs, a trained run, or a font.

    \b
    Examples:
      hangulgan evaluate glyphs/demo --real corpus/::NanumGothic --sheet sheet.png
      hangulgan evaluate runs/demo                # conditional: content accuracy, Glyph-FID
      hangulgan evaluate runs/dcgan --n 1000      # unconditional: legibility, diversity
      hangulgan evaluate runs/styled              # few-shot: the three cells, baselines
      hangulgan evaluate my-styled.safetensors --corpus corpus/   # styled weights, the same
      hangulgan evaluate --ocr Draft.ttf --reference NanumGothic.ttf

    Glyph sets are compared on the syllables both hold (the table says when they differ
    in size or charset), beside two baselines: NanumGothic copied, and the corpus face
    nearest the real one copied.
    """
    if ocr_font is not None:
        if target or real:
            raise ConfigError("--ocr reads a font; give it without TARGET or --real")
        if sheet is not None:
            raise ConfigError("--sheet compares glyph sets; --ocr writes no sheet")
        _ocr(ocr_font, reference, json_out, force)
        return
    if reference is not None:
        raise ConfigError("--reference goes with --ocr FONT")
    if not target:
        raise ConfigError(
            "give TARGET (a glyph set, CORPUS::FACE, a run folder or styled weights), or --ocr FONT"
        )
    from hangulgan.data.corpus import Corpus, open_glyphset
    from hangulgan.eval.evaluate import evaluate_glyphsets, evaluate_run, write_sheet
    from hangulgan.io import write_json_atomic

    if target.endswith(".safetensors") or (_is_run(target) and _run_model(target) == "styled"):
        cells = (per_face, seen_faces, seed, adapt_steps)
        _fewshot(target, corpus, _classifier(classifier), *cells, json_out, force)
        return

    # Inputs first: a wrong path is reported before the classifier is read.
    real_set = open_glyphset(real) if real else None
    generated = None if _is_run(target) else open_glyphset(target)
    if generated is not None and real_set is None:
        raise ConfigError(f"{target}: a glyph set is compared with real glyphs; give --real")
    content = _classifier(classifier)
    style = _classifier(style_classifier) if style_classifier else None
    real_face = None
    if real and "::" in real:
        folder, real_face = real.rsplit("::", 1)
        corpus = corpus or Path(folder)
    baseline_corpus = Corpus.open(corpus) if corpus and not no_baselines else None
    if sheet and _is_run(target) and not _run_draws_syllables(target):
        raise ConfigError(
            f"{target}: --sheet needs a glyph set or a conditional run (an unconditional "
            "run's samples are no particular syllables)"
        )
    _check_outputs(json_out, sheet, force)  # after the inputs (the run's config read above)
    report_real = None
    if _is_run(target):
        report, generated, report_real = evaluate_run(
            target,
            classifier=content,
            real=real_set,
            real_face=real_face,
            corpus=baseline_corpus,
            samples=samples,
            seed=seed,
            style_classifier=style,
        )
        if no_baselines:
            report.rows = dict(list(report.rows.items())[:1])
    else:
        assert real_set is not None and generated is not None
        report = evaluate_glyphsets(
            generated,
            real_set,
            corpus=baseline_corpus,
            real_face=real_face,
            classifier=content,
            style_classifier=style,
            with_baselines=not no_baselines,
        )
    click.echo(report.table())
    if json_out:
        write_json_atomic(json_out, {"format": REPORT_FORMAT} | report.to_dict())
        click.echo(f"json: {json_out}")
    if sheet:
        real_for_sheet = real_set if real_set is not None else report_real
        assert generated is not None and real_for_sheet is not None
        click.echo(f"sheet: {write_sheet(generated, real_for_sheet, sheet)}")


def _ocr(font: Path, reference: Path | None, json_out: Path | None, force: bool) -> None:
    from hangulgan.eval.tesseract import ocr_font
    from hangulgan.io import write_json_atomic

    for path in (font, reference):
        if path is not None and not path.is_file():
            raise ConfigError(f"{path}: no such font file")
    _check_outputs(json_out, None, force)
    results = [ocr_font(font)] + ([ocr_font(reference)] if reference else [])
    click.echo(f"{'font':50s} {'accuracy':>9s} {'coverage':>9s}")
    for result in results:
        click.echo(f"{result.font:50s} {result.accuracy:9.4f} {result.coverage:9.4f}")
        if result.missing:
            click.echo(
                f"  lacks {len(result.missing)} of the paragraph's syllables: {result.missing}"
            )
    click.echo("accuracy: 1 − edit distance / length over the syllables the font draws")
    if json_out:
        report = {"format": REPORT_FORMAT, "ocr": [r.to_dict() for r in results]}
        write_json_atomic(json_out, report)
        click.echo(f"json: {json_out}")


@click.command("classifier-export")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Write OUT.safetensors and OUT.json.",
)
@click.option("--checkpoint", type=click.Path(path_type=Path), help="Default: the newest.")
@click.option(
    "--force",
    is_flag=True,
    help="Replace a classifier file (OUT.safetensors, OUT.json) hangulgan wrote; never "
    "another file.",
)
def classifier_export_command(
    run_dir: Path, out: Path, checkpoint: Path | None, force: bool
) -> None:
    """Measure a `hangulgan train classifier` run on its held-out data and write it as a
    classifier file (weights + a JSON of what it was trained on and how it scored)."""
    from hangulgan.eval.classifier import classifier_paths
    from hangulgan.eval.classifier_export import export_classifier
    from hangulgan.train.config import RunConfig

    RunConfig.load(run_dir)  # the input first: an output clash must not hide a wrong RUN
    for path in classifier_paths(out):
        _check_classifier_out(path, force)
    classifier, (weights, meta) = export_classifier(run_dir, out, checkpoint)
    held = classifier.meta["heldout"]
    key = "content_accuracy" if classifier.task == "content" else "style_accuracy"
    click.echo(
        f"{classifier.task} classifier: held-out {held['held_out']} accuracy {held[key]:.4f} "
        f"over {held['glyphs']} glyphs"
    )
    for name, value in held.get("per_face", {}).items():
        if classifier.task == "content":
            click.echo(f"  {name:30s} {value:.4f}")
    click.echo(f"wrote {weights} and {meta}")


def _check_classifier_out(path: Path, force: bool) -> None:
    """ConfigError unless classifier-export may write ``path`` (one of OUT.safetensors and
    OUT.json): a new file, or with ``force`` one that a classifier export wrote (its
    header or description names the classifier format)."""
    from hangulgan.errors import CheckpointError
    from hangulgan.eval.classifier import CLASSIFIER_FORMAT
    from hangulgan.train.weights import read_header

    if not path.exists():
        return
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder; --out names the classifier files to write")
    if not force:
        raise ConfigError(f"{path}: already exists (replace it with --force)")
    try:
        if path.suffix == ".json":
            found = json.loads(path.read_text(encoding="utf-8"))
        else:
            found = read_header(path, "classifier file")
    except (OSError, ValueError, CheckpointError):
        found = None
    if not isinstance(found, dict) or found.get("format") != CLASSIFIER_FORMAT:
        raise ConfigError(
            f"{path}: not a classifier file that hangulgan wrote; --force replaces only "
            "such a file, never another"
        )
