"""Image-to-image translation (pix2pix, the U-Net autoencoder) on the shared trainer.

A sibling of :mod:`hangulgan.models`: its models are registered in the same registry (so
the trainer, checkpoints and ``sample`` treat them like any model) and their training
command is ``hangulgan translate train MODEL``, generated from each model's config.
"""

from __future__ import annotations

from hangulgan.models import register_model
from hangulgan.translate.models import TRANSLATION_MODELS, Autoencoder, Pix2Pix

for _model in TRANSLATION_MODELS:
    register_model(_model)

__all__ = ["Autoencoder", "Pix2Pix", "TRANSLATION_MODELS"]
