"""Image-to-image translation on the shared trainer: pix2pix, the U-Net autoencoder,
CycleGAN and U-GAT-IT.

A sibling of :mod:`hangulgan.models`: its models are registered in the same registry (so
the trainer, checkpoints and ``sample`` treat them like any model) and their training
command is ``hangulgan translate train MODEL``, generated from each model's config.
"""

from __future__ import annotations

from hangulgan.models import register_model
from hangulgan.translate.models import TRANSLATION_MODELS, Autoencoder, Pix2Pix
from hangulgan.translate.unpaired import UGATIT, UNPAIRED_MODELS, CycleGAN

for _model in (*TRANSLATION_MODELS, *UNPAIRED_MODELS):
    register_model(_model)

__all__ = ["Autoencoder", "CycleGAN", "Pix2Pix", "TRANSLATION_MODELS", "UGATIT", "UNPAIRED_MODELS"]
