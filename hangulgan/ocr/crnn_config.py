"""The text recognizer's options: the network and its optimiser, and the export it reads.

Torch-free, so that ``hangulgan train crnn --help`` and the registry's listing of models
load no networks (:mod:`hangulgan.ocr.crnn` is the model itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hangulgan.errors import ConfigError
from hangulgan.train.options import ModelConfig, option

SEQUENCES = ("lstm", "conv")
# the convolutions halve the height four times and the width twice: one output column
# (one CTC time step) per 4 pixels of the resized line
HEIGHT_FACTOR = 16
MAX_HEIGHT = 256  # lines are set 24–64 px high
MAX_WIDTH = 4096  # channels, hidden units
MAX_LAYERS = 32
WIDTH_FACTOR = 4


@dataclass
class CRNNConfig(ModelConfig):
    """Options of the CRNN: a convolution stack, a sequence model and a CTC head."""

    command_help: ClassVar[str] = """
    Train a CRNN text recognizer (convolutions → 1-D convolutions or a BiLSTM → per-column
    characters, CTC loss) on the words or lines of an `ocr-export` folder; `hangulgan
    ocr-eval` measures it.

    \b
    Examples:
      hangulgan train crnn --data ocr-lines/ --run runs/crnn --batch 32 --steps 3000
      hangulgan train crnn --run runs/crnn --resume --steps 6000
      hangulgan ocr-eval runs/crnn --data ocr-test/
    """

    height: int = option(32, "Height the images are resized to (a multiple of 16).")
    channels: int = option(
        32, "Channels of the first convolution (then 2×, 4×, 4× and 8× as many)."
    )
    sequence: str = option(
        "conv",
        "Sequence model over the columns: conv (residual 1-D convolutions) or lstm "
        "(bidirectional LSTM: slower on CPU, and far slower to leave CTC's all-blank start).",
        choices=SEQUENCES,
    )
    hidden: int = option(128, "Units per direction of the LSTM (or channels of the 1-D convs).")
    layers: int = option(2, "Layers of the sequence model.")
    dropout: float = option(0.1, "Dropout before the sequence model and the output layer.")
    lr: float = option(1e-3, "AdamW learning rate.")
    weight_decay: float = option(1e-4, "AdamW weight decay.")
    lr_decay_steps: int = option(
        0, "Cosine decay of the learning rate to zero over this many steps (0: constant)."
    )
    clip: float = option(5.0, "Gradient norm clipping (0: none).")
    channels_last: bool = option(
        True, "NHWC memory layout for the convolutions (20-30 % faster on CPU, measured)."
    )
    alphabet: str = option(
        "",
        "The characters it reads, as one string (default: the space and every character of "
        "the training export's charset.txt). Saved with the run, so that ocr-eval reads "
        "other exports with the same outputs.",
    )

    def validate(self) -> None:
        """Raise ConfigError for values out of range."""
        # upper bounds before anything is allocated: a 10**7 in config.json is no network
        if not HEIGHT_FACTOR <= self.height <= MAX_HEIGHT or self.height % HEIGHT_FACTOR:
            raise ConfigError(
                f"--height {self.height}: must be a multiple of {HEIGHT_FACTOR} up to {MAX_HEIGHT}"
            )
        if not 4 <= self.channels <= MAX_WIDTH:
            raise ConfigError(f"--channels {self.channels}: must lie in 4..{MAX_WIDTH}")
        if self.sequence not in SEQUENCES:
            raise ConfigError(f"--sequence {self.sequence}: choose lstm or conv")
        if not 8 <= self.hidden <= MAX_WIDTH:
            raise ConfigError(f"--hidden {self.hidden}: must lie in 8..{MAX_WIDTH}")
        if not 1 <= self.layers <= MAX_LAYERS:
            raise ConfigError(f"--layers {self.layers}: must lie in 1..{MAX_LAYERS}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"--dropout {self.dropout}: must lie in [0, 1)")
        if not self.lr > 0:
            raise ConfigError(f"--lr {self.lr}: must be positive")
        if self.weight_decay < 0:
            raise ConfigError(f"--weight-decay {self.weight_decay}: must be 0 or more")
        if self.lr_decay_steps < 0:
            raise ConfigError(f"--lr-decay-steps {self.lr_decay_steps}: must be 0 or more")
        if self.clip < 0:
            raise ConfigError(f"--clip {self.clip}: must be 0 or more")
        if len(set(self.alphabet)) != len(self.alphabet):
            twice = sorted({ch for ch in self.alphabet if self.alphabet.count(ch) > 1})
            raise ConfigError(f"--alphabet names {''.join(twice)!r} more than once")


@dataclass
class CRNNDataConfig:
    """Which export, and which of its splits, the recognizer trains on."""

    data: str | None = option(
        None, "Output folder of `hangulgan ocr-export` (its lmdb, gt or easyocr format)."
    )
    split: str | None = option(
        None, "Split to train on (default: train, or the whole of an unsplit export)."
    )
