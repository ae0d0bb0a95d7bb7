"""The translation models' options: the command line of ``hangulgan translate train
MODEL``, and what their data is made of; imports no torch.

The networks and training steps are in :mod:`hangulgan.translate.models` (pix2pix, the
U-Net autoencoder) and :mod:`hangulgan.translate.unpaired` (CycleGAN, U-GAT-IT); the data
in :mod:`hangulgan.translate.data`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from hangulgan.errors import ConfigError
from hangulgan.hangul import CHARSET_NAMES
from hangulgan.train.options import ModelConfig, option

NORMS = ("batch", "instance")
# Upper bounds, checked before anything is allocated (far above what fits a machine today;
# a larger value in a config.json ran torch out of memory with exit 70)
MAX_WIDTH = 1024  # channels of a network's first layer (deeper layers have up to ×8)
MAX_BLOCKS = 64  # residual blocks
MAX_LAYERS = 16  # discriminator layers
MAX_POOL = 4096  # generated images kept in a history pool
LAYOUTS = ("auto", "folders", "side-by-side", "unaligned", "colorize")


@dataclass
class TranslateDataConfig:
    """Where the pairs come from (an image folder or a glyph corpus) and how they are cut."""

    data: str | None = option(
        None,
        "Image folder: A/ and B/ with matching names, side-by-side A|B images, or "
        "trainA/ and trainB/ (unaligned).",
        path=True,
    )
    layout: str = option("auto", "Layout of --data (auto: guessed from it).", choices=LAYOUTS)
    corpus: str | None = option(
        None, "Glyph corpus (instead of --data): face X → face Y.", path=True
    )
    source_face: str | None = option(None, "Corpus face of the inputs (A).")
    target_face: str | None = option(None, "Corpus face of the targets (B).")
    charset: str = option(
        "all", "Corpus syllables: all, ksx1001, seed16 or a text file.", path=CHARSET_NAMES
    )
    holdout: float = option(
        0.1, "Fraction of the corpus syllables held out of training (for evaluate)."
    )
    unpaired: bool = option(
        False, "Corpus: A and B from disjoint halves of the syllables (no pair seen)."
    )
    size: int = option(64, "Side of the (square) training images, after the crop.")
    load_size: int = option(0, "Side images are resized to before the random crop (0: --size).")
    flip: bool = option(False, "Flip pairs left-right at random.")
    channels: int = option(0, "Image channels: 1 or 3 (0: 1 for glyphs, 3 for images).")
    gray_input: bool = option(
        False, "Make the inputs (A) grayscale, copied into every channel (colorisation)."
    )
    workers: int = option(0, "DataLoader worker processes that read the images.")


def check_range(flag: str, value: int, low: int, high: int) -> None:
    """ConfigError naming ``flag`` unless ``low <= value <= high``."""
    if not low <= value <= high:
        raise ConfigError(f"{flag} {value}: must lie in {low}..{high:,}")


@dataclass
class TranslatorConfig(ModelConfig):
    """Options every translation model has: Adam and the linear learning-rate decay."""

    lr: float = option(2e-4, "Adam learning rate.")
    beta1: float = option(0.5, "Adam β1.")
    lr_constant_steps: int = option(0, "Steps at the full learning rate before the decay.")
    lr_decay_steps: int = option(
        0, "Steps of the linear decay to zero after --lr-constant-steps (0: no decay)."
    )

    def validate(self) -> None:
        if not 0 < self.lr < math.inf:  # also refuses NaN
            raise ConfigError(f"--lr must be positive, not {self.lr}")
        if not 0 <= self.beta1 < 1:
            raise ConfigError(f"--beta1 {self.beta1}: must lie in [0, 1)")
        if self.lr_constant_steps < 0 or self.lr_decay_steps < 0:
            raise ConfigError("--lr-constant-steps and --lr-decay-steps must be 0 or more")


@dataclass
class UNetConfig(TranslatorConfig):
    """Options shared by the U-Net models."""

    width: int = option(64, "Channels of the U-Net's first layer (×2 per level, up to ×8).")
    depth: int = option(
        0, "U-Net down-samplings; the image side must divide by 2**depth (0: down to 1×1, ≤8)."
    )
    norm: str = option("batch", "Normalisation layers.", choices=NORMS)
    dropout: bool = option(True, "Dropout 0.5 in the deep up-samplings (pix2pix's noise).")

    def validate(self) -> None:
        super().validate()
        check_range("--width", self.width, 1, MAX_WIDTH)
        if self.depth and not 2 <= self.depth <= 10:
            raise ConfigError(f"--depth must lie in 2..10 (or 0: automatic), not {self.depth}")


@dataclass
class Pix2PixConfig(UNetConfig):
    """Options of pix2pix."""

    command_help: ClassVar[str] = (
        "pix2pix: a U-Net generator against a conditional PatchGAN, GAN loss + L1 × 100."
    )

    d_width: int = option(64, "Channels of the PatchGAN's first layer.")
    d_layers: int = option(3, "PatchGAN stride-2 layers (3: 70×70 patches).")
    l1_weight: float = option(100.0, "Weight of the L1 loss beside the GAN loss.")

    def validate(self) -> None:
        super().validate()
        check_range("--d-width", self.d_width, 1, MAX_WIDTH)
        check_range("--d-layers", self.d_layers, 1, MAX_LAYERS)


@dataclass
class AutoencoderConfig(UNetConfig):
    """Options of the U-Net autoencoder."""

    command_help: ClassVar[str] = (
        "U-Net autoencoder: the pix2pix generator trained on L1 or MSE alone (the baseline)."
    )

    loss: str = option("l1", "Reconstruction loss.", choices=("l1", "mse"))


@dataclass
class CycleGANConfig(TranslatorConfig):
    """Options of CycleGAN."""

    command_help: ClassVar[str] = (
        "CycleGAN: two ResNet generators and two PatchGANs, LSGAN, cycle and identity losses."
    )

    width: int = option(64, "Channels of the generators' first layer.")
    blocks: int = option(9, "Residual blocks of each generator (9 at 256², 6 at 128²).")
    norm: str = option("instance", "Normalisation layers.", choices=NORMS)
    dropout: bool = option(False, "Dropout 0.5 in the residual blocks.")
    d_width: int = option(64, "Channels of the PatchGANs' first layer.")
    d_layers: int = option(3, "PatchGAN stride-2 layers (3: 70×70 patches).")
    cycle_weight: float = option(10.0, "Weight of the cycle loss (λ).")
    identity_weight: float = option(0.5, "Weight of the identity loss, times λ.")
    pool_size: int = option(50, "Generated images kept in each history pool (0: none).")

    def validate(self) -> None:
        super().validate()
        check_range("--width", self.width, 1, MAX_WIDTH)
        check_range("--d-width", self.d_width, 1, MAX_WIDTH)
        check_range("--blocks", self.blocks, 0, MAX_BLOCKS)
        check_range("--d-layers", self.d_layers, 1, MAX_LAYERS)
        check_range("--pool-size", self.pool_size, 0, MAX_POOL)


@dataclass
class UGATITConfig(TranslatorConfig):
    """Options of U-GAT-IT (the reference's learning rate 1e-4 and weight decay 1e-4)."""

    command_help: ClassVar[str] = (
        "U-GAT-IT: CAM attention and AdaLIN generators, global and local CAM discriminators."
    )

    lr: float = option(1e-4, "Adam learning rate.")
    width: int = option(64, "Channels of the generators' first layer.")
    blocks: int = option(4, "Residual blocks in the encoder and AdaLIN blocks in the decoder.")
    light: bool = option(
        True, "Light mode: the γ/β MLP works on pooled features (full mode needs a large GPU)."
    )
    d_width: int = option(64, "Channels of the discriminators' first layer.")
    global_layers: int = option(7, "Layers of the global discriminator (5 stride-2 convs at 7).")
    local_layers: int = option(5, "Layers of the local discriminator.")
    adv_weight: float = option(1.0, "Weight of the adversarial losses.")
    cycle_weight: float = option(10.0, "Weight of the cycle loss.")
    identity_weight: float = option(10.0, "Weight of the identity loss.")
    cam_weight: float = option(1000.0, "Weight of the generators' CAM loss.")

    def validate(self) -> None:
        super().validate()
        check_range("--width", self.width, 1, MAX_WIDTH)
        check_range("--d-width", self.d_width, 1, MAX_WIDTH)
        check_range("--blocks", self.blocks, 1, MAX_BLOCKS)
        check_range("--global-layers", self.global_layers, 3, MAX_LAYERS)
        check_range("--local-layers", self.local_layers, 3, MAX_LAYERS)
