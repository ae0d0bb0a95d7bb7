"""Data-stage commands: ``render``, ``corpus info|preview|merge``."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from hangulgan.errors import CorpusError

# The data layer (numpy, FreeType, fontTools) is imported inside each command, so that
# `hangulgan render --help` stays fast (benchmarks/bench_help.py).

EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports a process SIGTERM ended


@contextmanager
def _sigterm_stops() -> Iterator[None]:
    """Inside the block SIGTERM stops the command as Ctrl-C does, by an exception, so the
    clean-up runs (the worker processes shut down, the corpus lock file goes) instead of
    the process vanishing mid-write; the command then exits 143 after saying so."""
    received: list[int] = []

    def stop(signum: int, frame: object) -> None:
        if not received:  # a second SIGTERM must not cut the clean-up short
            received.append(signum)
            raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: leave SIGTERM as it is
        yield
        return
    try:
        yield
    except KeyboardInterrupt:
        if not received:
            raise
        click.echo("terminated", err=True)
        sys.exit(EXIT_TERMINATED)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _charset(spec: str) -> list[int]:
    from hangulgan import hangul

    try:
        return hangul.resolve_charset(spec)
    except ValueError as err:
        raise CorpusError(str(err)) from None


@click.command("render")
@click.argument("fonts", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--size", default=32, show_default=True, help="Canvas size in pixels (square).")
@click.option(
    "--charset",
    default="all",
    show_default=True,
    help="all (11,172), ksx1001 (2,350), seed16, or a UTF-8 text file whose syllables to render.",
)
@click.option(
    "--placement",
    type=click.Choice(["em", "fit"]),
    default="em",
    show_default=True,
    help="em: the em square is the canvas (keeps size and position); fit: each glyph centred "
    "and scaled to the box, as the original examples did.",
)
@click.option(
    "--augment",
    "augment_copies",
    default=0,
    show_default=True,
    help="Augmented copies written per glyph beside the clean one.",
)
@click.option(
    "--no-wrap", is_flag=True, help="Augmented shifts pad with paper instead of wrapping."
)
@click.option("--workers", default=2, show_default=True, help="Processes (one face per task).")
@click.option("--seed", default=0, show_default=True, help="Seed of the augmentation.")
@click.option("--shard", default=None, help="i/n: render only every n-th face from the i-th.")
@click.option("--force", is_flag=True, help="Render faces again even when the corpus has them.")
@click.option(
    "--instances",
    is_flag=True,
    help="Also render the named instances of variable fonts (default: the default instance).",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
def render_cmd(
    fonts,
    out,
    size,
    charset,
    placement,
    augment_copies,
    no_wrap,
    workers,
    seed,
    shard,
    force,
    instances,
    quiet,
):
    """Render the Hangul syllables of FONTS (files or folders of TTF/OTF/TTC/WOFF) into the
    corpus folder OUT: one glyph set per face, ink = 255, uncovered syllables recorded as
    missing. A folder's WOFF files that split one face by unicode range (web fonts, as
    `make fonts-web` fetches them) are read as that one face.

    Faces already in OUT are skipped (by file hash); faces drawing the same Hangul (the
    language variants of a Noto CJK collection) are stored once, from the soundest file.
    A damaged font is skipped with the reason, never stops the run: more than 1% of its
    glyphs failing to load, no ink at all, or mostly empty glyphs other than the KS X
    1001 design make a face damaged. One render at a time per OUT (a lock). Exit code
    0: every font rendered; 1: some file or face was skipped (listed); 2: error.

    \b
    Examples:
      hangulgan render fonts/ corpus/
      hangulgan render /usr/share/fonts/truetype/nanum corpus64/ --size 64 --charset ksx1001
      hangulgan render fonts/ corpus-aug/ --augment 4 --seed 1
    """
    from hangulgan import hangul
    from hangulgan.data.augment import AugmentConfig
    from hangulgan.data.corpus_manifest import RenderSettings
    from hangulgan.data.corpus_render import parse_shard, render_corpus

    settings = RenderSettings(
        size=size,
        placement=placement,
        charset_name=charset if charset in hangul.CHARSET_NAMES else Path(charset).name,
        charset=_charset(charset),
        augment_copies=augment_copies,
        augment=AugmentConfig(wrap=not no_wrap),
        seed=seed,
    )
    with _sigterm_stops():
        summary = render_corpus(
            fonts,
            out,
            settings,
            workers=workers,
            force=force,
            shard=parse_shard(shard),
            progress=not quiet,
            instances=instances,
        )
    rows = [
        (o.face_id, o.glyphs, o.missing, len(o.empty), len(o.failed), f"{o.seconds:.2f}s")
        for o in summary.rendered
    ]
    if rows:
        click.echo(f"\n{'face':<34}{'glyphs':>8}{'missing':>9}{'empty':>7}{'failed':>8}{'time':>9}")
        for face_id, glyphs, missing, empty, failed, seconds in rows:
            click.echo(f"{face_id:<34}{glyphs:>8}{missing:>9}{empty:>7}{failed:>8}{seconds:>9}")
    total = sum(o.glyphs for o in summary.rendered)
    click.echo(
        f"\nrendered {len(summary.rendered)} faces ({total:,} glyphs); "
        f"{len(summary.reused)} already in {out}; {len(summary.duplicates)} duplicate faces "
        f"stored once; {len(summary.skipped)} skipped"
        + (f"; {summary.other_shard} left to other shards" if summary.other_shard else "")
    )
    for item in summary.skipped:
        click.echo(f"  skipped {item}", err=True)
    if not summary.rendered and not summary.reused:
        raise CorpusError(f"{out}: no face rendered (nothing usable among the fonts given)")
    sys.exit(1 if summary.skipped else 0)


@click.group("corpus")
def corpus_group():
    """Inspect, preview and merge rendered corpora."""


@corpus_group.command("info")
@click.argument("folder", type=click.Path(path_type=Path))
def corpus_info(folder):
    """Show a corpus's settings and its faces, sorted by name: glyphs drawn, syllables
    missing from the cmap, mapped but empty, failing to load, and the font's licence."""
    from hangulgan.data.corpus import Corpus

    corpus = Corpus.open(folder)
    m = corpus.manifest
    aug = m.get("augment", {})
    click.echo(
        f"{folder}: {len(corpus.face_names)} faces, {m['size']}×{m['size']} px, "
        f"placement {m['placement']}, charset {m['charset']['name']} ({m['charset']['count']:,}), "
        f"augmented copies {aug.get('copies', 0)}"
    )
    click.echo(f"{'face':<34}{'glyphs':>8}{'missing':>9}{'empty':>7}{'failed':>8}  licence")
    for name in sorted(corpus.face_names, key=str.casefold):
        rec = corpus.face_record(name)
        licence = " ".join(str(rec.get("licence") or "-").split())
        if len(licence) > 60:
            licence = licence[:59] + "…"
        click.echo(
            f"{name:<34}{rec['glyphs']:>8}{rec['missing']:>9}{len(rec.get('empty', [])):>7}"
            f"{len(rec.get('failed', [])):>8}  {licence}"
        )
    for item in m.get("skipped", []):
        click.echo(f"  skipped {item['path']}: {item['reason']}")


@corpus_group.command("preview")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--face", default=None, help="Face name (see corpus info); default the first.")
@click.option(
    "--all-faces",
    is_flag=True,
    help="One row per face showing --text, labelled with the face name: styles side by side.",
)
@click.option(
    "--faces",
    default=None,
    help="Comma-separated face names: the rows of --all-faces (implies it), in this order.",
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="PNG to write.")
@click.option("--count", default=256, show_default=True, help="Glyphs on the sheet.")
@click.option("--columns", default=32, show_default=True)
@click.option("--text", default=None, help="Show these syllables instead of a spread sample.")
@click.option(
    "--augmented",
    "copy",
    type=int,
    default=None,
    help="Show augmented copy K instead of the clean glyphs.",
)
@click.option(
    "--force", is_flag=True, help="Replace a PNG that hangulgan drew; never another file."
)
def corpus_preview(folder, face, all_faces, faces, out, count, columns, text, copy, force):
    """Write a PNG sheet of one face's glyphs, or with --all-faces --text of every face
    (or of --faces), one labelled row each."""
    from hangulgan.cli.outputs import check_png_out
    from hangulgan.data.corpus import Corpus
    from hangulgan.data.sheets import compare_sheet, preview_sheet

    corpus = Corpus.open(folder)
    if not corpus.face_names:
        raise CorpusError(f"{folder}: the corpus holds no face")
    # the inputs before the output: a wrong corpus or face is named, not an output clash
    if all_faces or faces:
        chosen = [name.strip() for name in faces.split(",") if name.strip()] if faces else None
        if faces is not None and not chosen:
            raise CorpusError(f"--faces {faces!r}: name at least one face")
        for name in chosen or []:
            corpus.face(name, augmented=False)
        check_png_out(out, force, "--out")
        path = compare_sheet(corpus, text or "한글 글꼴 합성", out, faces=chosen)
        click.echo(f"wrote {path}")
        return
    glyphs = corpus.face(face or corpus.face_names[0])
    if copy is not None:
        if glyphs.augmented is None or not 0 <= copy < glyphs.augmented.shape[0]:
            raise CorpusError(f"{folder}: face {glyphs.name} has no augmented copy {copy}")
        glyphs = type(glyphs)(glyphs.augmented[copy], glyphs.codepoints, glyphs.name)
    check_png_out(out, force, "--out")
    path = preview_sheet(glyphs, out, columns=columns, count=count, text=text)
    click.echo(f"wrote {path}")


@corpus_group.command("merge")
@click.argument("parts", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Merged corpus.")
@click.option("--move", is_flag=True, help="Move face folders instead of copying them.")
def corpus_merge(parts, out, move):
    """Join corpora rendered with the same settings (e.g. --shard outputs) into OUT.

    Interrupted (killed, disk full)? Run the same command again: it finishes the merge.
    With --move the face folders leave the PARTS, whose manifests stop listing them."""
    from hangulgan.data.corpus_merge import merge_corpora

    with _sigterm_stops():
        added = merge_corpora(list(parts), out, move=move)
    click.echo(f"merged {len(added)} faces into {out}")
