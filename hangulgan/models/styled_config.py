"""The few-shot generator's options: its networks and losses, and what it trains on.

Torch-free, so that ``hangulgan train styled --help`` and the registry's listing of models
load no networks (:mod:`hangulgan.models.styled` is the model itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hangulgan.errors import ConfigError
from hangulgan.train.options import ModelConfig, option

STYLE_POOLS = ("attention", "mean")
# Adaptation to a user's references (hangulgan.models.styled_adapt), here for the CLI's
# --help, which imports no torch: measured on the shipped weights' held-out faces.
DEFAULT_ADAPT_STEPS = 100
ADAPT_LR = 3e-4


@dataclass
class StyledConfig(ModelConfig):
    """Options of the few-shot generator's networks and losses."""

    command_help: ClassVar[str] = (
        "Few-shot style-conditioned generator: any syllable in the style of K reference "
        "glyphs (content from NanumGothic and the jamo, style pooled from the references)."
    )

    width: int = option(16, "Channels of the first encoder stage (deeper stages: 2× and 4×).")
    style_dim: int = option(128, "Width of a reference's style code.")
    jamo_dim: int = option(32, "Width of each jamo embedding.")
    res_blocks: int = option(3, "AdaIN residual blocks at the 8×8 bottleneck.")
    style_pool: str = option(
        "attention",
        "How K reference codes become a style: attention (component-aware, plus the mean) or mean.",
        choices=STYLE_POOLS,
    )
    l1_weight: float = option(1.0, "Weight of the L1 loss to the real glyph.")
    adv_weight: float = option(
        0.0, "Weight of the patch discriminator's hinge loss (0: L1 only, no discriminator)."
    )
    aux_weight: float = option(
        0.1, "Weight of the discriminator's face and jamo heads (with --adv-weight > 0)."
    )
    lr: float = option(2e-4, "Adam learning rate.")
    beta1: float = option(0.5, "Adam β1.")
    beta2: float = option(0.999, "Adam β2.")
    content_weight: float = option(
        0.0,
        "Weight of the content loss: a frozen jamo classifier (--content-critic) reads the "
        "generated glyph, and its cross-entropy against the target's jamo keeps drawings legible.",
    )
    content_critic: str = option(
        "",
        "Content classifier for --content-weight (NAME.safetensors from `hangulgan "
        "classifier-export`), trained on this run's training faces and syllables only.",
        path=True,
    )
    init_from: str = option(
        "",
        "Start from these weights: a styled run folder, a checkpoint or a weights file.",
        path=True,
    )

    def validate(self) -> None:
        """Raise ConfigError for values out of range."""
        # bounded before anything is allocated: a size of 10⁷ in a config.json is a clear
        # error, not the kernel's out-of-memory kill
        for name, most in (("width", 1024), ("style_dim", 65_536), ("jamo_dim", 65_536)):
            if not 1 <= getattr(self, name) <= most:
                raise ConfigError(f"{name} {getattr(self, name)}: must lie in 1..{most}")
        if not 0 <= self.res_blocks <= 256:
            raise ConfigError(f"res_blocks {self.res_blocks}: must lie in 0..256")
        if self.style_pool not in STYLE_POOLS:
            raise ConfigError(f"style_pool {self.style_pool!r}: choose {', '.join(STYLE_POOLS)}")
        if min(self.l1_weight, self.adv_weight, self.aux_weight, self.content_weight) < 0:
            raise ConfigError("loss weights must be 0 or more")
        if self.content_weight > 0 and not self.content_critic:
            raise ConfigError(
                "--content-weight needs --content-critic (a content classifier's weights)"
            )
        if not 0 < self.lr < float("inf"):
            raise ConfigError(f"learning rate {self.lr}: must be positive and finite")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ConfigError("Adam betas must lie in [0, 1)")


@dataclass
class StyledDataConfig:
    """What the few-shot generator trains on: a corpus, its split, and how batches are drawn."""

    corpus: str | None = option(None, "Corpus folder from `hangulgan render`.", path=True)
    faces: list[str] | None = option(
        None, "Train on these faces only (repeat, or comma-separate). Default: all.", multiple=True
    )
    content_face: str = option(
        "NanumGothic", "The face whose glyph of each syllable spells out its content."
    )
    holdout_faces: list[str] | None = option(
        None,
        "Faces never trained on: the unseen-face cells of the evaluation (repeat, or "
        "comma-separate).",
        multiple=True,
    )
    holdout_fraction: float = option(
        0.1, "Share of the 11,172 syllables never shown, as target or reference."
    )
    split_seed: int = option(0, "Seed of the held-out syllables.")
    targets_per_face: int = option(4, "Targets that share one reference set in a batch.")
    refs_min: int = option(3, "Fewest references per target in training (drawn per batch).")
    refs_max: int = option(12, "Most references per target in training.")

    def validate(self) -> None:
        """Raise ConfigError for values out of range."""
        if self.targets_per_face < 1 or self.refs_min < 1:
            raise ConfigError("targets_per_face and refs_min must be 1 or more")
        if max(self.targets_per_face, self.refs_max) > 4096:
            raise ConfigError("targets_per_face and refs_max must be 4,096 or fewer")
        if self.refs_max < self.refs_min:
            raise ConfigError(f"refs_max {self.refs_max}: below refs_min {self.refs_min}")
        if not 0 <= self.holdout_fraction < 1:
            raise ConfigError(f"holdout_fraction {self.holdout_fraction}: must lie in [0, 1)")

    @property
    def holdout_face_list(self) -> list[str]:
        """The held-out faces (comma-separated entries split)."""
        names = []
        for entry in self.holdout_faces or []:
            names += [name.strip() for name in entry.split(",") if name.strip()]
        return names
