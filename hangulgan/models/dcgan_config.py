"""The DCGAN's options: the command line of ``hangulgan train dcgan``; imports no torch.

The networks and the training step are in :mod:`hangulgan.models.dcgan`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from hangulgan.errors import ConfigError
from hangulgan.train.options import ModelConfig, option

LOSSES = ("bce", "hinge")
MAX_LATENT = 65536  # sizes of the noise vector and of each jamo embedding
MAX_STANDING = 10**6  # batch-norm calibration inputs (run in batches: a bound on time)


@dataclass
class DCGANConfig(ModelConfig):
    """Options of the DCGAN; defaults reproduce the original example's network and optimiser."""

    command_help: ClassVar[str] = """
    Train the original examples' DCGAN (at 32×32: G 9,125,825 and D 2,304,257 parameters).

    \b
    Examples:
      hangulgan train dcgan --corpus corpus/ --run runs/dcgan --steps 2000
      hangulgan train dcgan --corpus corpus/ --run runs/seed16 --charset seed16 --conditional
      hangulgan train dcgan --run runs/dcgan --resume --steps 4000
    """

    latent_dim: int = option(100, "Size of the noise vector z.", flag="latent")
    conditional: bool = option(
        False,
        "Condition on the syllable (jamo embeddings in G; projection and a jamo classifier "
        "in D), so `sample --text` and `--out-set` can ask for given syllables.",
    )
    jamo_dim: int = option(16, "Width of each jamo embedding in G (conditional only).")
    loss: str = option(
        "bce", "bce: the original examples' non-saturating loss; hinge: hinge loss.", choices=LOSSES
    )
    spectral_norm: bool = option(False, "Spectral norm on D's layers.")
    lr: float = option(1e-4, "Adam learning rate of G and D.")
    beta1: float = option(0.9, "Adam beta1 of G and D.")
    beta2: float = option(0.999, "Adam beta2 of G and D.")
    adam_eps: float = option(1e-7, "Adam epsilon (Keras' default).")
    dropout: float = option(0.3, "Dropout rate in D.")
    channels_last: bool = option(True, "NHWC memory layout (faster on CPU).")
    standing_samples: int = option(
        2048, "Random inputs that re-measure G's batch-norm statistics before sampling."
    )
    aux_weight: float = option(
        1.0, "Conditional: weight of D's jamo classifier loss (AC-GAN style)."
    )

    @classmethod
    def legacy_defaults(cls) -> dict[str, Any]:
        """Runs saved before the jamo classifier existed were trained without it."""
        return {"aux_weight": 0.0}

    def validate(self) -> None:
        """Raise ConfigError for values out of range."""
        # upper bounds before anything is allocated (10**7 ran torch out of memory)
        if not 1 <= self.latent_dim <= MAX_LATENT:
            raise ConfigError(f"--latent {self.latent_dim}: must lie in 1..{MAX_LATENT:,}")
        if not 1 <= self.jamo_dim <= MAX_LATENT:
            raise ConfigError(f"--jamo-dim {self.jamo_dim}: must lie in 1..{MAX_LATENT:,}")
        if self.loss not in LOSSES:
            raise ConfigError(f"loss {self.loss!r}: choose one of {', '.join(LOSSES)}")
        if not 0 < self.lr < math.inf:
            raise ConfigError(f"learning rate {self.lr}: must be positive")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ConfigError("Adam betas must lie in [0, 1)")
        if self.aux_weight < 0:
            raise ConfigError(f"aux weight {self.aux_weight}: must be 0 or more")
        if not 0 <= self.standing_samples <= MAX_STANDING:
            raise ConfigError(
                f"--standing-samples {self.standing_samples}: must lie in 0..{MAX_STANDING:,}"
            )
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout {self.dropout}: must lie in [0, 1)")
