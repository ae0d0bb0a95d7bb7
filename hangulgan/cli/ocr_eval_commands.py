"""``ocr-eval``: a trained text recognizer (``hangulgan train crnn``) read on an OCR export."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("ocr-eval")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--data",
    required=True,
    type=click.Path(path_type=Path),
    help="Output folder of `hangulgan ocr-export` (or ocr-merge) to read.",
)
@click.option(
    "--split",
    help="Its split to read (default: test, or the whole of an unsplit export).",
)
@click.option(
    "--checkpoint",
    type=click.Path(path_type=Path),
    help="A checkpoint file of the run (default: the newest).",
)
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
@click.option("--batch", default=64, show_default=True, help="Images read at once.")
@click.option(
    "--worst", default=0, show_default=True, help="Also list this many samples read worst."
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
def ocr_eval_command(
    run_dir: Path,
    data: Path,
    split: str | None,
    checkpoint: Path | None,
    device: str,
    batch: int,
    worst: int,
    as_json: bool,
) -> None:
    """Read an OCR export with a `hangulgan train crnn` run and report its character error
    rate and word accuracy.

    CER is the edit distance between what was read and the labels over the labels'
    length, summed over all samples; word accuracy is the share of the labels' words read
    right; lines read exactly is the share of images read without an error. Greedy CTC
    decoding.

    \b
    Examples:
      hangulgan ocr-eval runs/crnn --data ocr-lines/ --split val
      hangulgan ocr-eval runs/crnn --data ocr-test/ --json
    """
    from hangulgan.ocr.recognize import evaluate

    result = evaluate(
        run_dir, data, split, checkpoint=checkpoint, device=device, batch=batch, worst=worst
    )
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    s = result.scores
    click.echo(
        f"{result.run} (step {result.step}) on {result.data} [{result.split}]: {s.samples:,} images"
    )
    click.echo(
        f"  character error rate  {s.cer:.4f}  ({s.character_errors:,} edits in "
        f"{s.characters:,} characters)"
    )
    click.echo(f"  word accuracy         {s.word_accuracy:.4f}  ({s.words_right:,} of {s.words:,})")
    click.echo(
        f"  lines read exactly    {s.line_accuracy:.4f}  ({s.lines_right:,} of {s.samples:,})"
    )
    if result.unknown_characters:
        click.echo(
            f"  {result.unknown_characters:,} label characters are outside the run's alphabet "
            "(counted as errors)"
        )
    for item in result.worst:
        click.echo(f"  #{item['sample']}: {item['label']!r} read as {item['read']!r}")
