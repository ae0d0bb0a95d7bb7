"""Image-translation commands: ``hangulgan translate train MODEL``.

``translate train`` lists the translation models (:mod:`hangulgan.translate`); each
subcommand is generated from the model's config, data config and the trainer's config by
the same builder as ``hangulgan train MODEL`` (:func:`build_train_command`).
"""

from __future__ import annotations

import click

from hangulgan.cli.train_commands import build_train_command


class _TranslationModels(click.Group):
    """``translate train``'s subcommands: one per registered translation model."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from hangulgan.models import MODELS

        return sorted(n for n, cls in MODELS.items() if getattr(cls, "translation", False))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        from hangulgan.models import MODELS

        cls = MODELS.get(name)
        if cls is None or not getattr(cls, "translation", False):
            return None
        return build_train_command(cls)


@click.group("translate")
def translate_group() -> None:
    """Image-to-image translation: pix2pix and its U-Net autoencoder baseline.

    \b
    Data (--data DIR): A/ and B/ with matching file names, side-by-side A|B images
    (the pix2pix facades layout), or trainA/ and trainB/ (unaligned, the CycleGAN
    monet2photo layout); or glyphs of a corpus, face X → face Y:
      hangulgan translate train pix2pix --corpus corpus/ --source-face NanumGothic \\
          --target-face NanumMyeongjo --run runs/p2p
    """


@translate_group.group("train", cls=_TranslationModels)
def translate_train_group() -> None:
    """Train a translation model (options come from its config), in the shared trainer."""
