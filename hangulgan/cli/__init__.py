"""The ``hangulgan`` command line: a thin click layer over the library.

Each stage's commands live in their own module and register onto the one group.
A :class:`~hangulgan.errors.HangulganError` becomes a one-line message and exit code 2.
"""

from __future__ import annotations

import sys

import click

from hangulgan import __version__
from hangulgan.errors import HangulganError


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except HangulganError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hangulgan")
def main() -> None:
    """Korean font synthesis: render a corpus of Hangul glyphs from fonts, train glyph
    generators on it, and export what they draw as an installable draft font.

    \b
    Typical flow:
      hangulgan render fonts/ corpus/          # fonts → 32×32 glyph corpus
      hangulgan train dcgan --corpus corpus/ --run runs/dcgan
      hangulgan sample runs/dcgan --out-set glyphs/
      hangulgan export-ttf glyphs/ --out Draft.ttf
    """


def _register_all() -> None:
    from hangulgan.cli import data_commands, train_commands, vector_commands

    for module in (data_commands, train_commands, vector_commands):
        module.register(main)


_register_all()
