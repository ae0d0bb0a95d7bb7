"""Image-to-image translation on the shared trainer: pix2pix, the U-Net autoencoder
(:mod:`~hangulgan.translate.models`), CycleGAN and U-GAT-IT
(:mod:`~hangulgan.translate.unpaired`).

A sibling of :mod:`hangulgan.models`: its models declare the translation family
(``family = TRANSLATION``) and stand in the same registry
(:mod:`hangulgan.train.registry`), so the trainer, checkpoints and ``sample`` treat them
like any model, and their training command is ``hangulgan translate train MODEL``,
generated from each model's config.

Importing this package imports none of its modules.
"""
