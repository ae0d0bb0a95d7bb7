"""``generate`` and ``complete``: the few-shot generator on the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from hangulgan import hangul
from hangulgan.cli.outputs import glyphset_meta
from hangulgan.errors import AdaptationDiverged, ConfigError
from hangulgan.models.styled_config import DEFAULT_ADAPT_STEPS

FONT_SUFFIXES = {".ttf", ".otf", ".ttc", ".otc", ".woff"}
# what `generate` records in its glyph set's meta: the mark --force looks for
GENERATE_SOURCE = "hangulgan generate"


def _parse_mix(spec: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for item in spec.split(","):
        name, sep, value = item.strip().rpartition(":")
        if not sep or not name:
            raise ConfigError(f"--mix {spec!r}: write FACE:WEIGHT,FACE:WEIGHT")
        try:
            weights[name] = float(value)
        except ValueError:
            raise ConfigError(f"--mix {spec!r}: {value!r} is not a number") from None
    return weights


def _made_by_generate(folder: Path) -> bool:
    """Whether ``folder`` is a glyph set that ``generate`` wrote: its header's meta says so
    (``source``; sets written before that mark carry the styled generator's own key)."""
    meta = glyphset_meta(folder) or {}
    return meta.get("source") == GENERATE_SOURCE or meta.get("generator") == "styled"


def _check_generate_out(out: Path, force: bool) -> bool:
    """ConfigError unless ``out`` may be written; True when an existing folder is replaced.

    An empty folder is written into; --force replaces only a glyph set generate made."""
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return out.exists()
    if not force:
        raise ConfigError(f"{out}: already exists (replace it with --force)")
    if not _made_by_generate(out):
        raise ConfigError(
            f"{out}: not a glyph set that generate wrote; --force replaces only generate's "
            "own output, never other files (write to a new folder)"
        )
    return True


def _adapted(
    generator: Any,
    images: Any,
    codepoints: list[int],
    steps: int | None,
    seed: int,
    progress: bool,
    source: Path,
) -> Any:
    """The generator adapted to the references; the unadapted one, with a warning, when the
    adaptation diverges (never a broken glyph set)."""
    try:
        return generator.adapted(
            images, codepoints, steps=steps, seed=seed, progress=progress, label=str(source)
        )
    except AdaptationDiverged as err:
        click.echo(f"warning: {source}: {err}; drawing without adaptation", err=True)
        return generator


def _charset(spec: str) -> list[int]:
    try:
        return hangul.resolve_charset(spec)
    except ValueError as err:
        raise ConfigError(f"--charset {err}") from None


@click.command("generate")
@click.argument("run", required=False)
@click.option(
    "--refs",
    "refs",
    type=click.Path(exists=True),
    help="References: a font file (the reference syllables are rendered from it) or a "
    "folder of images named by syllable (가.png or U+AC00.png).",
)
@click.option(
    "--references",
    "count",
    default=8,
    show_default=True,
    type=click.IntRange(1, 64),
    help="How many references to render from a --refs font.",
)
@click.option("--style", "style_name", help="A face seen in training, or 'random'.")
@click.option("--seed", default=0, show_default=True, help="Seed of --style random and of --adapt.")
@click.option("--mix", "mix", help="A blend of faces seen in training: FACE:W,FACE:W (sum 1).")
@click.option(
    "--charset",
    default="all",
    show_default=True,
    help="all (11,172), ksx1001 (2,350), seed16, or a UTF-8 text file's syllables.",
)
@click.option(
    "--adapt",
    is_flag=True,
    help="Fine-tune the generator on the --refs before drawing (100 steps: 10 s to a minute on "
    "2 cores): the drawing moves from the nearest face it knew to the face given.",
)
@click.option(
    "--adapt-steps",
    default=None,
    type=click.IntRange(1, 100_000),
    help=f"Steps of --adapt [default: {DEFAULT_ADAPT_STEPS}].",
)
@click.option(
    "--redraw-references",
    is_flag=True,
    help="Draw the reference syllables too (by default they go into the output as given).",
)
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Glyph set.")
@click.option("--name", default=None, help="Name of the glyph set (default: the folder's).")
@click.option("--force", is_flag=True, help="Replace an existing glyph set at --out.")
@click.option("--progress/--no-progress", default=True, show_default=True)
def generate_command(
    run: str | None,
    refs: str | None,
    count: int,
    style_name: str | None,
    seed: int,
    mix: str | None,
    charset: str,
    adapt: bool,
    adapt_steps: int | None,
    redraw_references: bool,
    out: str,
    name: str | None,
    force: bool,
    progress: bool,
) -> None:
    """Draw every syllable of --charset in the style of a few references.

    RUN is a trained styled run (or a weights file); without it the shipped Korean
    weights are used, on the CPU. Give exactly one style source:

    \b
      --refs MyFont.ttf     8 reference syllables rendered from a font
      --refs refs/          your drawings, one image per syllable (가.png or U+AC00.png)
      --style FACE          a face seen in training (--style random --seed N: a new blend)
      --mix A:0.5,B:0.5     a style between faces seen in training

    The default references to draw are 다헌쳇입술특꽃봤: together they hold 8 initials,
    8 medials of every vowel shape and 7 finals. With --refs, --adapt fine-tunes the
    generator on them first (deterministic for a --seed), and the references themselves go
    into the output as given unless --redraw-references. Writes a glyph set (for export-ttf
    and evaluate) with a preview.png inside.
    """
    from tqdm import tqdm

    from hangulgan.data.sheets import preview_sheet
    from hangulgan.models.styled_inference import StyledGenerator, default_references
    from hangulgan.models.styled_references import references_from_folder, references_from_font

    font_placement = None
    kept = None  # the references that go into the output as given
    sources = [s for s in (refs, style_name, mix) if s]
    if len(sources) != 1:
        raise ConfigError("give exactly one of --refs, --style and --mix")
    if (adapt or adapt_steps) and not refs:
        raise ConfigError("--adapt learns from references: give --refs")
    out_path = Path(out)
    codepoints = _charset(charset)
    generator = StyledGenerator.load(run)
    if refs:
        ref_path = Path(refs)
        if ref_path.is_dir():
            images, cps, notes = references_from_folder(ref_path, generator.size)
            for note in notes:
                click.echo(f"converted {note}", err=True)
        elif ref_path.suffix.lower() in FONT_SUFFIXES:
            placement = str(generator.meta.get("placement", {}).get("placement", "em"))
            images, cps, font_placement = references_from_font(
                ref_path, default_references(), count, generator.size, placement
            )
        else:
            raise ConfigError(f"{ref_path}: --refs takes a font file or a folder of images")
        label = f"{ref_path.name} ({len(cps)} refs)"
        click.echo(f"references: {''.join(map(chr, cps))}", err=True)
        if adapt or adapt_steps:
            _check_generate_out(out_path, force)  # before the minutes of adaptation
            generator = _adapted(generator, images, cps, adapt_steps, seed, progress, ref_path)
        style = generator.style_from_images(images, cps, label=label)
        kept = None if redraw_references else (images, cps)
    elif mix:
        style = generator.mix(_parse_mix(mix))
    elif style_name == "random":
        style = generator.random_style(seed)
    else:
        style = generator.style_from_face(style_name)
    replace = _check_generate_out(out_path, force)  # the inputs first, then the output
    # closed on the way out of a Ctrl-C too, before the CLI says "interrupted"
    with tqdm(total=len(codepoints), unit="glyph", disable=not progress, desc="generate") as bar:
        glyphs = generator.glyphset(
            style,
            codepoints,
            name=name or out_path.name,
            progress=bar.update,
            placement=font_placement,
            keep=kept,
        )
    glyphs.meta["source"] = GENERATE_SOURCE
    glyphs.save(out_path, overwrite=replace)
    sample = "".join(chr(cp) for cp in codepoints[:: max(1, len(codepoints) // 256)][:256])
    preview_sheet(glyphs, out_path / "preview.png", text=sample)
    click.echo(f"{out_path}: {len(glyphs)} glyphs in the style of {style.label}")


@click.command("complete")
@click.argument("font", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Font file.")
@click.option("--run", "run", default=None, help="A trained styled run (default: shipped weights).")
@click.option(
    "--finetune-steps",
    default=200,
    show_default=True,
    type=click.IntRange(0),
    help="Fine-tune on the font's own syllables first (when it draws --finetune-min).",
)
@click.option(
    "--finetune-min",
    default=256,
    show_default=True,
    type=click.IntRange(1),
    help="Fine-tune only when the font draws at least this many syllables; a font drawing "
    "fewer gets adaptation to its --references instead (as generate --adapt).",
)
@click.option(
    "--adapt-steps",
    default=DEFAULT_ADAPT_STEPS,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Steps of that adaptation.",
)
@click.option(
    "--references",
    default=64,
    show_default=True,
    type=click.IntRange(1, 256),
    help="The font's own syllables the style is taken from.",
)
@click.option(
    "--charset",
    default="all",
    show_default=True,
    help="Complete up to: all (11,172), ksx1001 (2,350), or a UTF-8 text file's syllables.",
)
@click.option("--face-index", default=0, show_default=True, help="Face of a .ttc collection.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1), help="Tracing.")
@click.option(
    "--family",
    default=None,
    help='Family name of the completed font (default: "<source family> Complete"); it must '
    "differ from the source's, and the source's licence may reserve its name.",
)
@click.option("--progress/--no-progress", default=True, show_default=True)
@click.option(
    "--force", is_flag=True, help="Replace a font complete made before (never another file)."
)
def complete_command(
    font: str,
    out: str,
    run: str | None,
    finetune_steps: int,
    finetune_min: int,
    adapt_steps: int,
    references: int,
    charset: str,
    face_index: int,
    workers: int,
    family: str | None,
    progress: bool,
    force: bool,
) -> None:
    """Add the Hangul syllables FONT lacks, drawn in its own style, and write --out.

    Syllables the font does not map, or maps to an empty glyph, are drawn by the few-shot
    generator from the font's own syllables (fine-tuned on them when there are many,
    adapted to its references when there are few),
    traced, and added; the font's own glyphs, metrics and tables stay as they are. The
    result gets a family name of its own (--family) and is written only after the
    OpenType Sanitizer accepts it. TrueType fonts only.

    \b
      hangulgan complete NanumGothicLight.ttf --out NanumGothicLight-Complete.ttf
    """
    from hangulgan.models.styled_inference import StyledGenerator
    from hangulgan.vector.complete import complete_font

    generator = StyledGenerator.load(run)
    report = complete_font(
        font,
        out,
        generator,
        finetune_steps=finetune_steps,
        finetune_min=finetune_min,
        adapt_steps=adapt_steps,
        references=references,
        workers=workers,
        face_index=face_index,
        force=force,
        charset=_charset(charset),
        progress=lambda message: click.echo(message, err=True),
        family=family,
        bars=progress,
    )
    if not report.added and not report.skipped:
        wanted = (
            "all 11,172 syllables" if charset == "all" else f"every syllable of --charset {charset}"
        )
        click.echo(f"{font}: already draws {wanted}; nothing to add (no font written)")
        return
    click.echo(
        f"{out}: {report.had} syllables kept, {report.added} added "
        f"({report.unmapped} unmapped, {report.empty} mapped but empty in the source); "
        f"family {report.family!r}, PostScript name {report.postscript_name}"
    )
    if report.skipped:
        listed = ", ".join(f"U+{cp:04X} ({why})" for cp, why in report.skipped[:10])
        more = f" and {len(report.skipped) - 10} more" if len(report.skipped) > 10 else ""
        click.echo(f"not added (traced to nothing): {listed}{more}", err=True)
    timing = ", ".join(f"{k} {v:.1f} s" for k, v in report.timings.items())
    click.echo(f"timings: {timing}", err=True)


def _styled_weights_file(path: Path) -> bool:
    """Whether ``path`` is a styled weights file (its safetensors header names the format)."""
    from hangulgan.errors import CheckpointError
    from hangulgan.models.styled_weights import WEIGHTS_FORMAT, WHAT
    from hangulgan.train.weights import read_header

    try:
        return read_header(path, WHAT).get("format") == WEIGHTS_FORMAT
    except CheckpointError:
        return False


@click.command("styled-export")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="Weights file (hangulgan/weights/styled-32.safetensors is the shipped one).",
)
@click.option("--force", is_flag=True, help="Replace an existing --out.")
def styled_export_command(run: str, out: str, force: bool) -> None:
    """Write a styled run's newest (EMA) generator as one weights file for `generate`.

    The file holds the generator, the content face's glyphs and a style bank (the codes of
    24 references of every training face, for --style and --mix), so it draws without
    the corpus: safetensors with JSON metadata, nothing pickled.
    """
    from hangulgan.models.styled_inference import StyledGenerator

    path = Path(out)
    generator = StyledGenerator.from_run(run)  # the input first, then the output
    if path.exists() and not force:
        raise ConfigError(f"{path}: already exists (replace it with --force)")
    if path.exists() and not _styled_weights_file(path):
        raise ConfigError(
            f"{path}: not a styled weights file; --force replaces only one that styled-export "
            "wrote, never another file"
        )
    generator.save(path)
    size = path.stat().st_size / 2**20
    click.echo(f"{path}: {len(generator.bank_names)} faces in the style bank, {size:.1f} MB")
