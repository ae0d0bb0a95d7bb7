"""``export-ttf`` and ``check-font``: glyph set → installable font, and the checks on it."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hangulgan import hangul
from hangulgan.errors import VectorError
from hangulgan.vector.trace import TraceParams

if TYPE_CHECKING:
    from hangulgan.vector.tracepool import SkippedGlyph

_TRACE = TraceParams()  # the option defaults are the library's


def _default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


@click.command("export-ttf")
@click.argument("glyphs")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Font file.")
@click.option("--family", default="Hangulgan Draft", show_default=True, help="Family name.")
@click.option("--style", default="Regular", show_default=True, help="Style (subfamily) name.")
@click.option("--font-version", default="1.000", show_default=True, help="Font version.")
@click.option("--licence", default=None, help="Licence text for the name table (ID 13).")
@click.option("--licence-url", default="", help="Licence URL (name ID 14).")
@click.option("--copyright", "copyright_", default="", help="Copyright notice (name ID 0).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["ttf", "otf"]),
    default="ttf",
    show_default=True,
    help="ttf: TrueType quadratics; otf: CFF keeping potrace's cubics.",
)
@click.option(
    "--upscale",
    default=_TRACE.upscale,
    show_default=True,
    type=click.IntRange(1, 16),
    help="Interpolate glyphs by this factor before tracing.",
)
@click.option(
    "--interpolation",
    type=click.Choice(["cubic", "linear"]),
    default=_TRACE.interpolation,
    show_default=True,
)
@click.option(
    "--threshold",
    default=_TRACE.threshold,
    show_default=True,
    type=float,
    help="Ink level (0..1) of the upscaled image that counts as ink.",
)
@click.option(
    "--alphamax",
    default=_TRACE.alphamax,
    show_default=True,
    type=float,
    help="potrace corner threshold: 0 polygons .. 1.33 no corners.",
)
@click.option(
    "--opttolerance",
    default=_TRACE.opttolerance,
    show_default=True,
    type=float,
    help="potrace curve-joining tolerance, in source pixels.",
)
@click.option(
    "--turdsize",
    default=_TRACE.turdsize,
    show_default=True,
    type=float,
    help="Drop specks up to this area, in source pixels².",
)
@click.option(
    "--fallback-font",
    type=click.Path(dir_okay=False),
    default=None,
    help="Borrow Hangul compatibility jamo and basic Latin from this font.",
)
@click.option(
    "--workers",
    default=_default_workers(),
    show_default=True,
    type=click.IntRange(1, 64),
    help="Tracing processes.",
)
@click.option(
    "--specimen-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where FONT.specimen.png/html go (default: beside the font).",
)
@click.option("--no-specimen", is_flag=True, help="Write no specimen.")
@click.option(
    "--force",
    is_flag=True,
    help="Replace a font and specimens that export-ttf made before (never another file).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def export_ttf(
    glyphs: str,
    out: str,
    family: str,
    style: str,
    font_version: str,
    licence: str | None,
    licence_url: str,
    copyright_: str,
    fmt: str,
    upscale: int,
    interpolation: str,
    threshold: float,
    alphamax: float,
    opttolerance: float,
    turdsize: float,
    fallback_font: str | None,
    workers: int,
    specimen_dir: str | None,
    no_specimen: bool,
    force: bool,
    quiet: bool,
) -> None:
    """Trace glyph set GLYPHS (a glyph set folder or CORPUS::FACE) into an installable font.

    The font is checked by the OpenType Sanitizer before it appears at --out; empty and
    all-ink images are skipped and listed, and their syllables stay unmapped. Missing
    folders of --out and --specimen-dir are created. Each glyph sits where the glyph set's
    recorded geometry says its source font had it, relative to the baseline.
    """
    from tqdm import tqdm

    from hangulgan.data.corpus import open_glyphset
    from hangulgan.vector.files import check_replaceable, make_folder
    from hangulgan.vector.fontbuild import build_font
    from hangulgan.vector.geometry import export_geometry
    from hangulgan.vector.names import DEFAULT_LICENCE, FontInfo, is_exported_font
    from hangulgan.vector.specimen import is_specimen, specimen_paths, write_specimens

    try:
        params = TraceParams(
            upscale=upscale,
            interpolation=interpolation,
            threshold=threshold,
            turdsize=turdsize,
            alphamax=alphamax,
            opttolerance=opttolerance,
        )
    except ValueError as err:
        raise click.BadParameter(str(err)) from None
    info = FontInfo(
        family=family,
        style=style,
        version=font_version,
        licence=licence if licence is not None else DEFAULT_LICENCE,
        licence_url=licence_url,
        copyright=copyright_,
    )
    info.validate()
    # the input first: a wrong GLYPHS is reported as such, not as a clash at --out
    glyphset = open_glyphset(glyphs)
    export_geometry(glyphset, glyphs)  # its recorded geometry too (checked field by field)
    out_path = Path(out)
    # then every output, before minutes of tracing; --force replaces only what export-ttf
    # made (recognised by its marker), never a user's file
    check_replaceable(out_path, force, is_exported_font, "a font export-ttf made")
    specimen_folder = Path(specimen_dir) if specimen_dir else out_path.parent
    if not no_specimen:
        for path in specimen_paths(out_path, specimen_folder):
            check_replaceable(
                path,
                force,
                is_specimen,
                "a specimen export-ttf wrote",
                hint=", or use --specimen-dir or --no-specimen",
            )
        make_folder(specimen_folder, f"{specimen_folder}: cannot create specimen folder")
    bar = tqdm(
        total=len(glyphset),
        unit="glyph",
        desc="tracing",
        disable=quiet,
        file=sys.stderr,
        leave=False,
    )
    try:
        report = build_font(
            glyphset,
            out_path,
            info=info,
            params=params,
            fmt=fmt,
            workers=workers,
            fallback=fallback_font,
            progress=bar.update,
            label=glyphs,
        )
    finally:
        bar.close()
    click.echo(
        f"wrote {report.path}: {report.format.upper()}, {report.glyphs} glyphs "
        f"({report.points_per_glyph:.0f} points per traced glyph) in {report.seconds:.1f} s "
        f"({report.cpu_seconds:.1f} CPU s) with {report.workers} worker(s); "
        "OpenType Sanitizer: passed"
    )
    for note in report.notes:
        click.echo(f"note: {note}")
    if report.borrowed:
        click.echo(f"borrowed {len(report.borrowed)} glyphs from {fallback_font}")
    if report.skipped:
        click.echo(f"skipped {len(report.skipped)} glyphs, left unmapped:")
        for reason, chars in _group_skipped(report.skipped).items():
            click.echo(f"  {reason} ({len(chars)}): {_shorten(chars)}")
    syllables = sum(1 for cp in report.mapped if hangul.is_syllable(cp))
    if syllables == hangul.N_SYLLABLES and not any(0x3131 <= cp <= 0x318E for cp in report.mapped):
        click.echo(
            "note: fontconfig lists a font as Korean ('ko') only with the compatibility jamo "
            "too; add --fallback-font to borrow them"
        )
    if not no_specimen:
        png, page = write_specimens(report.path, specimen_folder)
        click.echo(f"specimen: {png} and {page}")
    click.echo(
        f"install: mkdir -p ~/.local/share/fonts && cp {report.path} ~/.local/share/fonts/ "
        "&& fc-cache -f"
    )


@click.command("check-font")
@click.argument("font", type=click.Path(dir_okay=False))
@click.option(
    "--reference",
    "reference_font",
    type=click.Path(dir_okay=False),
    default=None,
    help="The source font file: compare both, rendered by FreeType on one baseline, over "
    "every syllable both map (the real round trip).",
)
@click.option(
    "--glyphs",
    default=None,
    help="Compare with this glyph set (the one the font was traced from), re-rendering the "
    "font under its recorded geometry: checks the tracing, not the placement.",
)
@click.option(
    "--size",
    "sizes",
    multiple=True,
    type=click.IntRange(8, 512),
    default=(32,),
    show_default=True,
    help="Round-trip size(s) in px per em (without --glyphs).",
)
@click.option(
    "--sample",
    default=500,
    show_default=True,
    type=click.IntRange(1, 20000),
    help="Syllables compared with the font's own supersampled rendering (without "
    "--reference or --glyphs).",
)
@click.option(
    "--min-iou",
    default=0.9,
    show_default=True,
    type=float,
    help="Round-trip mean ink IoU below this fails.",
)
def check_font_command(
    font: str,
    reference_font: str | None,
    glyphs: str | None,
    sizes: tuple[int, ...],
    sample: int,
    min_iou: float,
) -> None:
    """Check FONT as browsers and desktops will: the OpenType Sanitizer, fontconfig's
    fc-query (family; 'ko' among the languages of a full set) and a raster round trip.

    \b
    With --reference SOURCE.ttf the round trip is against the source font file: both
    rendered by FreeType, unhinted, at their own baselines, each glyph placed by its own
    bearings; mean ink IoU over the syllables both map, the worst listed.

    Exits 1 when a check fails."""
    from hangulgan.vector.check import check_font

    if reference_font is not None and glyphs is not None:
        raise click.UsageError("give --reference or --glyphs, not both")
    if reference_font is not None and not Path(reference_font).is_file():
        raise VectorError(f"{reference_font}: no such reference font")
    reference = None
    if glyphs is not None:
        from hangulgan.data.corpus import open_glyphset

        reference = open_glyphset(glyphs)
    result = check_font(
        font,
        reference=reference,
        sizes=sizes,
        sample=sample,
        min_iou=min_iou,
        reference_font=reference_font,
    )
    click.echo(f"{result.path}: {result.syllables} Hangul syllables")
    click.echo(f"  OpenType Sanitizer: {'passed' if result.ots_ok else 'FAILED'}")
    if result.fontconfig is not None:
        view = result.fontconfig
        click.echo(
            f"  fontconfig: family {', '.join(view.family) or '(none)'}; style "
            f"{', '.join(view.style) or '(none)'}; {view.fontformat}; "
            f"ko {'listed' if result.korean_ok else 'not listed'}"
        )
    else:
        click.echo(f"  fontconfig: {result.fontconfig_error}")
    for trip in result.round_trips:
        worst = ", ".join(f"{chr(cp)} {iou:.2f}" for cp, iou in trip.worst)
        click.echo(
            f"  round trip {trip.size} px over {trip.compared} glyphs against "
            f"{trip.reference}: mean IoU {trip.mean_iou:.4f}, 5th percentile "
            f"{trip.p05_iou:.3f}; worst {worst}"
        )
        if trip.advance_mismatches:
            click.echo(f"  advance differs from the reference in {trip.advance_mismatches} glyphs")
        if trip.missing:
            click.echo(f"  not drawn by the font: {len(trip.missing)} code points")
    if result.ok:
        click.echo("ok")
        return
    for problem in result.problems:
        click.echo(f"problem: {problem}", err=True)
    sys.exit(1)


def _group_skipped(skipped: list[SkippedGlyph]) -> dict[str, list[str]]:
    """Skipped glyphs' characters by reason, in set order."""
    groups: dict[str, list[str]] = {}
    for item in skipped:
        groups.setdefault(item.reason, []).append(chr(item.codepoint))
    return groups


def _shorten(chars: list[str], limit: int = 100) -> str:
    shown = "".join(chars[:limit])
    return shown if len(chars) <= limit else f"{shown} … and {len(chars) - limit} more"
