"""The ``hangulgan`` command line: a thin click layer over the library.

Each stage's commands live in their own module; the group imports a module only when
one of its commands runs (or ``--help`` lists them), so ``export-ttf`` does not pay for
torch.

Exit codes (documented in the README):

* 0 – done;
* 1 – done, but some input was skipped (listed with the reason), e.g. a broken font;
  for ``check-font``: the font failed a check (the problems listed);
* 2 – an error the user can fix: a :class:`~hangulgan.errors.HangulganError` (one line
  naming the file and the problem), a bad option, a full disk, out of memory;
* 70 – an unexpected exception, i.e. a bug in hangulgan (``EX_SOFTWARE`` of sysexits.h):
  one line that says so, the traceback in a log file whose path is printed, or on
  stderr with ``hangulgan --debug``;
* 130 / 143 – stopped by Ctrl-C / SIGTERM;
* 141 – the reader of its output went away (``hangulgan corpus info c/ | head``), quietly.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import time
import traceback

import click

from hangulgan import __version__
from hangulgan.errors import HangulganError
from hangulgan.io import is_disk_full

EXIT_OK = 0
EXIT_SKIPPED = 1
EXIT_ERROR = 2
EXIT_BUG = 70
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for `git log | head`

# command name → "module:attribute" of its click command
COMMANDS = {
    "render": "hangulgan.cli.data_commands:render_cmd",
    "corpus": "hangulgan.cli.data_commands:corpus_group",
    "train": "hangulgan.cli.train_commands:train_group",
    "sample": "hangulgan.cli.train_commands:sample_command",
    "runs": "hangulgan.cli.train_commands:runs_group",
    "export-ttf": "hangulgan.cli.vector_commands:export_ttf",
    "check-font": "hangulgan.cli.vector_commands:check_font_command",
    "evaluate": "hangulgan.cli.eval_commands:evaluate_command",
    "classifier-export": "hangulgan.cli.eval_commands:classifier_export_command",
    "generate": "hangulgan.cli.styled_commands:generate_command",
    "complete": "hangulgan.cli.styled_commands:complete_command",
    "styled-export": "hangulgan.cli.styled_commands:styled_export_command",
    "ocr-export": "hangulgan.cli.ocr_commands:ocr_export_command",
    "ocr-merge": "hangulgan.cli.ocr_commands:ocr_merge_command",
    "ocr-eval": "hangulgan.cli.ocr_eval_commands:ocr_eval_command",
    "translate": "hangulgan.cli.translate_commands:translate_group",
    "template": "hangulgan.cli.scan_commands:template_command",
    "from-scan": "hangulgan.cli.scan_commands:from_scan_command",
}

# What `hangulgan --help` lists for each command: the first paragraph of the command's own
# help, kept here so that listing the commands imports none of their modules (numpy,
# fontTools, torch...). tests/test_train_help.py checks each against its command; a
# command without an entry is listed from its own help (its module imported).
SUMMARIES = {
    "check-font": (
        "Check FONT as browsers and desktops will: the OpenType Sanitizer, fontconfig's fc-query "
        "(family; 'ko' among the languages of a full set) and a raster round trip."
    ),
    "classifier-export": (
        "Measure a `hangulgan train classifier` run on its held-out data and write it as a "
        "classifier file (weights + a JSON of what it was trained on and how it scored)."
    ),
    "complete": "Add the Hangul syllables FONT lacks, drawn in its own style, and write --out.",
    "corpus": "Inspect, preview and merge rendered corpora.",
    "evaluate": (
        "Measure generated glyphs: a glyph set against real glyphs, a trained run, or a font."
    ),
    "export-ttf": (
        "Trace glyph set GLYPHS (a glyph set folder or CORPUS::FACE) into an installable font."
    ),
    "from-scan": (
        "Read photos or scans of a filled-in sheet (PHOTOS: its pages, in any order) into a glyph "
        "set at --out, with preview.png: each box as photographed beside what was read."
    ),
    "generate": "Draw every syllable of --charset in the style of a few references.",
    "ocr-export": "Write labelled images of text set from SOURCES for OCR training.",
    "ocr-eval": (
        "Read an OCR export with a `hangulgan train crnn` run and report its character error "
        "rate and word accuracy."
    ),
    "ocr-merge": "Join ocr-export outputs (PARTS) into one dataset in OUT.",
    "render": (
        "Render the Hangul syllables of FONTS (files or folders of TTF/OTF/TTC/WOFF) into the "
        "corpus folder OUT: one glyph set per face, ink = 255, uncovered syllables recorded as "
        "missing. A folder's WOFF files that split one face by unicode range (web fonts, as `make "
        "fonts-web` fetches them) are read as that one face."
    ),
    "runs": "Inspect run folders.",
    "sample": "Draw glyphs from a trained run: a grid PNG (--out) and/or a glyph set (--out-set).",
    "styled-export": (
        "Write a styled run's newest (EMA) generator as one weights file for `generate`."
    ),
    "template": (
        "Write a printable handwriting sheet: OUT (a vector PDF), a PNG preview of each page and "
        "OUT's .json layout beside it."
    ),
    "train": "Train a model (one subcommand per registered model; options come from its config).",
    "translate": "Image-to-image translation: pix2pix, the U-Net autoencoder, CycleGAN, U-GAT-IT.",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attribute = target.split(":")
        return getattr(importlib.import_module(module), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``hangulgan --help``, drawn from :data:`SUMMARIES` by click's
        own layout (so it reads as if each command had been imported)."""
        listed = {}
        for name in self.list_commands(ctx):
            if name in SUMMARIES:
                listed[name] = click.Command(name, help=SUMMARIES[name])
            elif (command := self.get_command(ctx, name)) is not None:
                listed[name] = command
        click.Group(commands=listed).format_commands(ctx, formatter)

    def invoke(self, ctx: click.Context):
        try:
            try:
                return super().invoke(ctx)
            finally:
                sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        except BrokenPipeError as err:
            if not _stdout_reader_gone():  # another pipe broke: not the shell's doing
                report_bug(err, debug=bool(ctx.obj and ctx.obj.get("debug")))
                sys.exit(EXIT_BUG)
            # The reader of stdout went away (`corpus info | head`): ordinary shell use.
            # Stop quietly, as `git log | head` does; Python's docs' recipe: point stdout
            # at devnull so the flush at exit does not fail again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(EXIT_BROKEN_PIPE)
        except HangulganError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(EXIT_ERROR)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise  # usage errors (exit 2) and click's own exits keep their codes
        except KeyboardInterrupt:
            # click would turn it into "Aborted!" and exit 1, the skip code
            click.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except MemoryError:
            click.echo("error: out of memory (try fewer --workers or a smaller batch)", err=True)
            sys.exit(EXIT_ERROR)
        except Exception as err:
            if is_disk_full(err):
                where = getattr(err, "filename", None) or "output"
                click.echo(f"error: {where}: no space left on device", err=True)
                sys.exit(EXIT_ERROR)
            report_bug(err, debug=bool(ctx.obj and ctx.obj.get("debug")))
            sys.exit(EXIT_BUG)


def _stdout_reader_gone() -> bool:
    """Whether stdout is a pipe whose reading end was closed (poll reports an error)."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # no real file descriptor
        return False


def report_bug(err: BaseException, debug: bool) -> None:
    """Say in one line that hangulgan hit a bug; the traceback goes to stderr (``debug``)
    or to a log file whose path the line names."""
    summary = f"{type(err).__name__}: {err}".splitlines()[0] if str(err) else type(err).__name__
    trace = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    if debug:
        click.echo(trace, err=True, nl=False)
        click.echo(f"internal error (a bug in hangulgan, please report it): {summary}", err=True)
        return
    try:
        fd, log = tempfile.mkstemp(
            prefix=f"hangulgan-crash-{time.strftime('%Y%m%d-%H%M%S')}-", suffix=".log"
        )
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"hangulgan {__version__}: {' '.join(sys.argv)}\n{trace}")
        where = f"traceback in {log}"
    except OSError:
        where = "rerun with --debug for the traceback"
    click.echo(
        f"internal error (a bug in hangulgan, please report it): {summary}; {where}", err=True
    )


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hangulgan")
@click.option(
    "--debug",
    is_flag=True,
    help="Show the traceback of an unexpected error (exit code 70) instead of logging it.",
)
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Korean font synthesis: render a corpus of Hangul glyphs from fonts, train glyph
    generators on it, and export what they draw as an installable draft font.

    \b
    Typical flow:
      hangulgan render fonts/ corpus/          # fonts → 32×32 glyph corpus
      hangulgan train dcgan --corpus corpus/ --run runs/cond --conditional
      hangulgan sample runs/cond --charset ksx1001 --out-set glyphs/
      hangulgan export-ttf glyphs/ --out Draft.ttf

    \b
    Exit codes: 0 done; 1 done, some input skipped (listed); 2 an error
    (one line naming the file); 70 a bug in hangulgan (the traceback is logged,
    or shown with --debug); 130/143 stopped by Ctrl-C/SIGTERM.
    """
    ctx.ensure_object(dict)["debug"] = debug
