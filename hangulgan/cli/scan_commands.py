"""``template`` and ``from-scan``: a handwriting sheet to print, and photos of it filled in
read back as a glyph set (and, with ``--font``, an installable font)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from hangulgan import hangul
from hangulgan.errors import ConfigError
from hangulgan.models.styled_config import DEFAULT_ADAPT_STEPS

EXIT_SKIPPED = 1  # done, some input skipped (hangulgan.cli's exit codes)
DEFAULT_REFERENCES = 24  # the count `generate --references 24` renders


def _syllables_from_file(path: Path) -> tuple[str, list[str]]:
    """The Hangul syllables of a UTF-8 text file in order of first appearance, and the
    other characters it holds (whitespace aside), which a sheet cannot ask for."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read ({err.strerror or err})") from None
    syllables = "".join(dict.fromkeys(ch for ch in text if hangul.is_syllable(ord(ch))))
    others = sorted({ch for ch in text if not ch.isspace() and not hangul.is_syllable(ord(ch))})
    if not syllables:
        raise ConfigError(f"{path}: holds no Hangul syllable (U+AC00..U+D7A3)")
    return syllables, others


@click.command("template")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The PDF to write.")
@click.option("--paper", type=click.Choice(["a4", "letter"]), default="a4", show_default=True)
@click.option(
    "--references",
    "count",
    type=click.IntRange(1, 64),
    default=None,
    help=f"How many reference syllables to ask for (default {DEFAULT_REFERENCES}: the ones "
    "`generate --references N` renders from a font, a greedy cover of the jamo).",
)
@click.option(
    "--syllables",
    "syllables_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="A UTF-8 text file: ask for its Hangul syllables instead, in order.",
)
@click.option("--force", is_flag=True, help="Replace files a template wrote (never others).")
def template_command(
    out: str, paper: str, count: int | None, syllables_file: str | None, force: bool
) -> None:
    """Write a printable handwriting sheet: OUT (a vector PDF), a PNG preview of each page
    and OUT's .json layout beside it.

    Each page has writing boxes of 22 mm with faint guides (the em square and the
    baseline), the syllable to write printed small above each box, registration marks at
    the corners and a QR code that tells the reader the page, the sheet and its syllables.
    Print at any scale, write with a black pen, photograph, then:

    \b
      hangulgan from-scan PAGE.jpg --out MyHand/
    """
    from hangulgan.models.styled_split import greedy_reference_cover
    from hangulgan.scan.layout import make_sheet, page_capacity
    from hangulgan.scan.template import CID_FONT, write_template

    if syllables_file is not None and count is not None:
        raise click.UsageError("give --references or --syllables, not both")
    if syllables_file is not None:
        syllables, others = _syllables_from_file(Path(syllables_file))
        if others:
            click.echo(f"{syllables_file}: not Hangul syllables, left out: {''.join(others)}")
    else:
        syllables = greedy_reference_cover(count or DEFAULT_REFERENCES)
    try:
        sheet = make_sheet(syllables, paper)
    except ValueError as err:
        raise ConfigError(f"{syllables_file or '--references'}: {err}") from None
    files = write_template(sheet, out, force=force)
    pages = len(sheet.pages)
    click.echo(
        f"{files.pdf}: {len(sheet.syllables)} syllables on {pages} {paper.upper()} "
        f"page{'s' if pages > 1 else ''} ({page_capacity(paper)} a page), sheet {sheet.sheet_id}"
    )
    click.echo(f"preview: {', '.join(map(str, files.previews))}; layout: {files.layout}")
    if files.label_font == CID_FONT:
        click.echo(
            "note: no Korean TrueType font found to print the syllables with; the PDF names "
            "a standard Korean font that PDF viewers substitute",
            err=True,
        )


@click.command("from-scan")
@click.argument("photos", nargs=-1, required=True)
@click.option(
    "--out", required=True, type=click.Path(file_okay=False), help="The glyph set to write."
)
@click.option("--force", is_flag=True, help="Replace a folder from-scan wrote (never others).")
@click.option(
    "--font",
    "font",
    type=click.Path(dir_okay=False),
    default=None,
    help="Go on to an installable font: draw the whole face in the written style, trace it "
    "and check it.",
)
@click.option("--family", default=None, help='Family name of the --font (default "My Hand").')
@click.option(
    "--charset",
    default="all",
    show_default=True,
    help="Syllables of the --font: all (11,172), ksx1001 (2,350) or a UTF-8 text file's.",
)
@click.option(
    "--fallback-font",
    type=click.Path(dir_okay=False),
    default=None,
    help="Borrow Latin, punctuation and compatibility jamo from this font (default: a Korean "
    "TrueType font fontconfig finds, NanumGothic first).",
)
@click.option(
    "--run",
    default=None,
    help="A trained styled run or weights file (default: the shipped weights).",
)
@click.option(
    "--adapt-steps",
    default=DEFAULT_ADAPT_STEPS,
    show_default=True,
    type=click.IntRange(0, 100_000),
    help="Adapt the generator to the written syllables before drawing the --font (0: no "
    "adaptation; see generate --adapt).",
)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
def from_scan_command(
    photos: tuple[str, ...],
    out: str,
    force: bool,
    font: str | None,
    family: str | None,
    charset: str,
    fallback_font: str | None,
    run: str | None,
    adapt_steps: int,
    workers: int,
) -> None:
    """Read photos or scans of a filled-in sheet (PHOTOS: its pages, in any order) into a
    glyph set at --out, with preview.png: each box as photographed beside what was read.

    The pages are found by their code and corner marks in any orientation, straightened,
    evened out for light, and each written syllable is placed by the printed guides, so a
    syllable written small or high stays so. Empty, crossed-out and overflowing boxes are
    listed and left out (exit 1). With --font, goes on to an installable font:

    \b
      hangulgan from-scan page1.jpg page2.jpg --out MyHand/ --font MyHand.ttf
    """
    from hangulgan.data.placement import Geometry
    from hangulgan.scan.font import DEFAULT_FAMILY, generator_placement
    from hangulgan.scan.output import check_out, skipped, write_scan, written_glyphset
    from hangulgan.scan.read import read_pages

    out_path = Path(out)
    if family is not None and font is None:
        raise click.UsageError("--family names the --font; give --font too")
    codepoints = None
    if font is not None and charset != "all":
        try:
            codepoints = hangul.resolve_charset(charset)
        except ValueError as err:
            raise ConfigError(f"--charset {err}") from None
    placement = generator_placement(run)
    geometry = Geometry.from_meta(placement["geometry"])
    started = time.perf_counter()

    def report(reading) -> None:
        written = sum(b.glyph is not None for b in reading.boxes)
        click.echo(
            f"{reading.path}: page {reading.page.number} of {reading.page.pages}, "
            f"{written} of {len(reading.boxes)} boxes read",
            err=True,
        )

    readings = read_pages(photos, geometry, progress=report)  # the inputs first
    replace = check_out(out_path, force)
    if font is not None:
        from hangulgan.vector.files import check_replaceable
        from hangulgan.vector.names import is_exported_font
        from hangulgan.vector.specimen import is_specimen, specimen_paths

        check_replaceable(Path(font), force, is_exported_font, "a font export-ttf made")
        for path in specimen_paths(font, Path(font).parent):
            check_replaceable(path, force, is_specimen, "a specimen export-ttf wrote")
    glyphs = written_glyphset(readings, placement, out_path.name)
    write_scan(glyphs, readings, out_path, replace)
    seconds = time.perf_counter() - started
    missing = sorted(set(range(1, readings[0].page.pages + 1)) - {r.page.number for r in readings})
    click.echo(f"{out_path}: {len(glyphs)} syllables read in {seconds:.1f} s: {glyphs.text}")
    if missing:
        click.echo(f"pages not given: {', '.join(map(str, missing))}", err=True)
    problems = skipped(readings)
    for box in problems:
        detail = f" ({box.detail})" if box.detail else ""
        click.echo(f"skipped {box.syllable} on page {box.page}: {box.problem}{detail}", err=True)
    if font is not None:
        _make_font(
            glyphs,
            font,
            family or DEFAULT_FAMILY,
            codepoints,
            fallback_font,
            run,
            workers,
            force,
            adapt_steps,
        )
    if problems:
        sys.exit(EXIT_SKIPPED)


def _make_font(
    glyphs, font, family, codepoints, fallback_font, run, workers, force, adapt_steps
) -> None:
    from hangulgan.scan.font import default_fallback_font, handwriting_font

    fallback = fallback_font or default_fallback_font()
    if fallback is None:
        click.echo("note: no fallback font found; the font holds Hangul only", err=True)
    report = handwriting_font(
        glyphs,
        font,
        family=family,
        run=run,
        charset=codepoints,
        fallback=fallback,
        workers=workers,
        force=force,
        adapt_steps=adapt_steps,
        progress=lambda message: click.echo(message, err=True),
    )
    build, check = report.build, report.check
    click.echo(
        f"{report.path}: family {report.family!r}, {report.written} syllables as written and "
        f"{report.drawn:,} drawn in their style; {build.glyphs:,} glyphs"
        + (f", Latin and punctuation from {report.fallback.name}" if report.fallback else "")
    )
    for trip in check.round_trips:
        click.echo(f"check-font: round trip {trip.size} px mean IoU {trip.mean_iou:.3f}")
    timing = ", ".join(f"{k} {v:.1f} s" for k, v in report.timings.items())
    click.echo(f"timings: {timing}", err=True)
    if not check.ok:
        for problem in check.problems:
            click.echo(f"problem: {problem}", err=True)
        click.echo(f"{report.path}: written, but check-font finds the problems above", err=True)
        sys.exit(EXIT_SKIPPED)
    from hangulgan.vector.specimen import write_specimens

    png, page = write_specimens(report.path, report.path.parent)
    click.echo(f"specimen: {png} and {page}")
    click.echo(
        f"install: mkdir -p ~/.local/share/fonts && cp {report.path} ~/.local/share/fonts/ "
        "&& fc-cache -f"
    )
