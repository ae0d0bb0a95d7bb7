"""The ``hangulgan`` command line: a thin click layer over the library.

Each stage's commands live in their own module; the group imports a module only when
one of its commands runs (or ``--help`` lists them), so ``export-ttf`` does not pay for
torch. A :class:`~hangulgan.errors.HangulganError` becomes one line and exit code 2.
"""

from __future__ import annotations

import importlib
import sys

import click

from hangulgan import __version__
from hangulgan.errors import HangulganError

# command name → "module:attribute" of its click command
COMMANDS = {
    "render": "hangulgan.cli.data_commands:render_cmd",
    "corpus": "hangulgan.cli.data_commands:corpus_group",
    "train": "hangulgan.cli.train_commands:train_group",
    "sample": "hangulgan.cli.train_commands:sample_command",
    "runs": "hangulgan.cli.train_commands:runs_group",
    "export-ttf": "hangulgan.cli.vector_commands:export_ttf",
    "check-font": "hangulgan.cli.vector_commands:check_font_command",
    "generate": "hangulgan.cli.styled_commands:generate_command",
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

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except HangulganError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(2)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hangulgan")
def main() -> None:
    """Korean font synthesis: render a corpus of Hangul glyphs from fonts, train glyph
    generators on it, and export what they draw as an installable draft font.

    \b
    Typical flow:
      hangulgan render fonts/ corpus/          # fonts → 32×32 glyph corpus
      hangulgan train dcgan --corpus corpus/ --run runs/cond --conditional
      hangulgan sample runs/cond --charset ksx1001 --out-set glyphs/
      hangulgan export-ttf glyphs/ --out Draft.ttf
    """
