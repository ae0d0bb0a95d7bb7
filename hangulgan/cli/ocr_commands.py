"""``ocr-export``: labelled images of syllables, words and lines for OCR training;
``ocr-merge``: one dataset from the parts that ``ocr-export --shard`` made."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from hangulgan.errors import ConfigError


def _split(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise ConfigError(
            f"--split {text}: comma-separated fractions, e.g. 0.9,0.05,0.05"
        ) from None


def _height(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", text)
    if not match:
        raise ConfigError(f"--height {text}: pixels, or a range LOW-HIGH such as 24-64")
    low = int(match.group(1))
    return low, int(match.group(2) or low)


def _shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise ConfigError(f"--shard {text}: I/N, this run's part I of N (from 1), e.g. 2/8")
    return int(match.group(1)), int(match.group(2))


@click.command("ocr-export")
@click.argument("sources", nargs=-1)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Output folder.")
@click.option(
    "--kind",
    type=click.Choice(["syllables", "words", "lines"]),
    default="words",
    show_default=True,
    help="One syllable, one word, or a line of words per image.",
)
@click.option(
    "--text",
    "text_file",
    type=click.Path(path_type=Path),
    help="UTF-8 file, one sample per line (NFC); default: built-in text (--sampler).",
)
@click.option(
    "--sampler",
    type=click.Choice(["real", "syllables"]),
    default="real",
    show_default=True,
    help="Built-in text: real Korean words and lines with the digits, Latin, punctuation and "
    "symbols it mixes in; or syllables drawn one by one by their frequency (not words).",
)
@click.option(
    "--fallback-font",
    type=click.Path(path_type=Path),
    help="Font that draws what a source lacks (digits, Latin, punctuation; never Hangul); "
    "glyph sets and --styles borrow its basic Latin when built into fonts.",
)
@click.option(
    "--max-width",
    type=int,
    help="Leave out (and count) samples wider than this many pixels; never squeezed.",
)
@click.option("--count", type=int, help="Samples in all (default with --text: one per line).")
@click.option(
    "--format",
    "formats",
    default="gt",
    show_default=True,
    help="Comma-separated: gt, lmdb, easyocr, classes (classes needs --kind syllables).",
)
@click.option("--split", default="1", show_default=True, help="Fractions of train,val,test.")
@click.option(
    "--by",
    type=click.Choice(["sample", "face", "style"]),
    default="sample",
    show_default=True,
    help="Split samples at random, give each split its own sources (face), or its own "
    "designs (style: a font family's weights together; each drawn style is one).",
)
@click.option(
    "--styles",
    help="Styles drawn on the fly by the styled model, comma-separated: random:N (N "
    "blends no one drew), FACE (a face it saw), FACE:W+FACE:W (a blend).",
)
@click.option(
    "--styles-model",
    type=click.Path(path_type=Path),
    help="Weights file or styled run that draws --styles (default: the shipped weights).",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    help="Processes: worker I makes shard I/N and the shards are merged into OUT (so the "
    "samples depend on N; --force then replaces OUT whole, if it holds an OCR dataset).",
)
@click.option(
    "--height",
    default="32",
    show_default=True,
    help="Image height in pixels, or a range LOW-HIGH (e.g. 24-64) each image draws from.",
)
@click.option("--augment", is_flag=True, help="Distort glyphs and lines (see the README).")
@click.option(
    "--image-format",
    type=click.Choice(["png", "jpg"]),
    default="png",
    show_default=True,
    help="jpg with --augment draws each image's JPEG quality from 40..95.",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the sampling and distortions.")
@click.option(
    "--shard",
    metavar="I/N",
    help="Make part I of N of the run (its share of --count or of the --text lines, its "
    "own random stream); join the parts with ocr-merge.",
)
@click.option("--force", is_flag=True, help="Replace outputs that already exist in OUT.")
@click.option("--quiet", is_flag=True, help="No progress bar (none is drawn off a terminal).")
def ocr_export_command(
    sources,
    out,
    kind,
    text_file,
    sampler,
    fallback_font,
    max_width,
    count,
    formats,
    split,
    by,
    styles,
    styles_model,
    workers,
    height,
    augment,
    image_format,
    seed,
    shard,
    force,
    quiet,
) -> None:
    """Write labelled images of text set from SOURCES for OCR training.

    SOURCES are fonts (a font file, or a folder of font files such as a web font's
    subsets), corpus folders (all their faces) and faces (CORPUS::FACE), set from the font
    each was rendered from, and glyph-set folders, built into fonts first. --styles adds
    styles the styled model draws for this run, built into fonts the same way. Text is
    shaped with each font's own advances and kerning (HarfBuzz) and drawn by FreeType; a
    text is set only from a source that draws every one of its characters (with
    --fallback-font for what the design lacks); text no source draws is skipped and
    counted (exit code 1).

    \b
    hangulgan ocr-export fonts/ --out ocr/ --count 100000 --split 0.9,0.1 --by style
    hangulgan ocr-export MyFont.ttf --text lines.txt --kind lines --height 24-64 --out o/
    hangulgan ocr-export --styles random:50 --fallback-font F.ttf --count 9000 --out s/
    """
    import tempfile

    from hangulgan.ocr.export import ExportOptions, export, shard_slices
    from hangulgan.ocr.sources import open_fallback, open_spec, resolve
    from hangulgan.ocr.text import read_text

    options = ExportOptions(
        kind=kind,
        count=count,
        formats=tuple(f.strip() for f in formats.split(",") if f.strip()),
        split=_split(split),
        by=by,
        seed=seed,
        height=_height(height),
        augment=augment,
        image_format=image_format,
        shard=_shard(shard),
        sampler=sampler,
        max_width=max_width,
        text_file=str(text_file) if text_file is not None else None,
    )
    options.validate()
    texts = read_text(text_file, kind) if text_file is not None else None
    if texts is None and count is None:
        raise ConfigError("--count: how many samples to make (or give --text FILE)")
    if not sources and not styles:
        raise ConfigError("no source: name fonts, corpora, faces or glyph sets, or --styles")
    fallback = open_fallback(fallback_font)  # refused now, before any work
    from tqdm import tqdm

    styled = []
    if styles:
        from hangulgan.ocr.styles import parse_style_spec, style_syllables, styled_glyphsets

        wanted = sum(r.count for r in parse_style_spec(styles))
        with tqdm(
            total=wanted * len(style_syllables(texts)),
            unit="glyph",
            desc="drawing styles",
            disable=True if quiet else None,
        ) as bar:
            styled = styled_glyphsets(styles, seed, texts, styles_model, bar.update)
    refs = [*sources, *([f"--styles {styles}"] if styles else [])]
    total = count
    if count is not None and options.shard is not None:
        total = sum(n for _, n in shard_slices(count, options.split, options.shard))
    with tempfile.TemporaryDirectory(prefix="hangulgan-ocr-fonts-") as scratch:
        specs = resolve(
            list(sources),
            Path(scratch),
            styled,
            fallback_font,
            note=lambda text: click.echo(f"note: {text}", err=True),
        )
        records = [
            {
                "name": s.name,
                "design": s.group,
                "origin": s.origin,
                "fonts": [f for f, _ in s.faces],
            }
            for s in specs
        ]
        # None: tqdm draws only on a terminal; the total is unknown with --text until skipping
        with tqdm(total=total, unit="img", disable=True if quiet else None) as bar:
            if workers != 1:
                from hangulgan.ocr.parallel import export_parallel

                summary = export_parallel(
                    specs, fallback_font and str(fallback_font), out, options, workers, texts,
                    force, bar.update, refs, records,
                )  # fmt: skip
            else:
                loaded = [open_spec(spec, fallback) for spec in specs]
                summary = export(
                    loaded, out, options, texts, force=force, source_refs=refs,
                    progress=bar.update, source_records=records,
                )  # fmt: skip
    counts = ", ".join(f"{name}: {n}" for name, n in summary.written.items())
    part = f"shard {options.shard[0]}/{options.shard[1]}, " if options.shard else ""
    click.echo(f"wrote {sum(summary.written.values())} samples to {out} ({part}{counts})")
    failed = False
    if summary.too_wide:
        click.echo(
            f"left out {summary.too_wide} samples wider than --max-width {max_width}", err=True
        )
        failed = True
    if summary.skipped:
        examples = ", ".join(repr(t) for t in summary.skipped[:3])
        click.echo(
            f"skipped {len(summary.skipped)} text samples that no source draws every "
            f"character of (e.g. {examples})",
            err=True,
        )
        failed = True
    if failed:
        sys.exit(1)


@click.command("ocr-merge")
@click.argument("parts", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Merged dataset.")
@click.option("--force", is_flag=True, help="Replace OUT if it holds an earlier OCR dataset.")
@click.option("--quiet", is_flag=True, help="No progress bar (none is drawn off a terminal).")
def ocr_merge_command(parts, out, force, quiet) -> None:
    """Join ocr-export outputs (PARTS) into one dataset in OUT.

    The parts must be made with the same --kind, --format, --split (and --by), --height
    and --image-format: typically the shards of one run (ocr-export --shard I/N). Every
    format's samples are renumbered from 1 per split without gaps (LMDB keys from 1,
    num-samples the total); images are hard-linked where the file system allows.
    OUT appears only when whole: an interrupted merge leaves it as it was.
    """
    from tqdm import tqdm

    from hangulgan.ocr.merge import merge_exports, read_part

    total = 0
    for path in parts:
        part = read_part(path)
        total += sum(part.counts.values()) * len(part.options["formats"])
    with tqdm(total=total, unit="img", disable=True if quiet else None) as bar:
        summary = merge_exports(list(parts), out, force=force, progress=bar.update)
    counts = ", ".join(f"{name}: {n}" for name, n in summary.written.items())
    click.echo(
        f"merged {sum(summary.written.values())} samples from {len(summary.parts)} parts "
        f"into {out} ({counts})"
    )
    for run in summary.missing_shards:
        missing = ", ".join(f"{i}/{run['of']}" for i in run["missing"])
        click.echo(f"note: shards {missing} of seed {run['seed']} were not among the parts",
                   err=True)  # fmt: skip
