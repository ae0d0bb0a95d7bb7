"""The glyph classifiers' options: the network and its optimiser, and the data and split.

Torch-free, so that ``hangulgan train classifier --help`` and the registry's listing of
models load no networks (:mod:`hangulgan.eval.classifier_model` is the model itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hangulgan.errors import ConfigError
from hangulgan.hangul import CHARSET_NAMES
from hangulgan.train.options import ModelConfig, option

TASKS = ("content", "style")
# Held out by default: whole families, spread over styles (gothic, serif, rounded, pen),
# so no design of theirs is seen in training. The handwriting faces (NanumPen, NanumBrush,
# UnPilgi) all stay in training: held out in a trial (width 32, step 500 of 3000), UnPilgi
# read at 0.39–0.49 while the printed faces read at 0.94–0.97,
# since the other two are too few to teach how far handwriting strays.
DEFAULT_HOLDOUT_FACES = (
    "UnDotum",
    "UnDotum-Bold",
    "Baekmuk-Batang",
    "NanumSquareRoundL",
    "NanumSquareRoundR",
    "NanumSquareRoundB",
    "NanumSquareRoundEB",
    "NanumBarunpen",
    "NanumBarunpen-Bold",
)


@dataclass
class ClassifierConfig(ModelConfig):
    """The classifier network and its optimiser."""

    command_help: ClassVar[str] = """
    Glyph classifier (content: the three jamo; style: the face), for `hangulgan evaluate`.

    Train the content classifier with faces held out, the style classifier with
    syllables held out; then `hangulgan classifier-export RUN --out NAME` measures the
    held-out accuracy and writes NAME.safetensors + NAME.json.
    """

    task: str = option("content", "content: jamo heads; style: which face.", choices=TASKS)
    width: int = option(16, "Channels of the first convolution (the last has six times as many).")
    lr: float = option(2e-3, "AdamW learning rate.")
    weight_decay: float = option(1e-4, "AdamW weight decay.")
    label_smoothing: float = option(0.05, "Label smoothing of the cross-entropy.")
    lr_decay_steps: int = option(
        0, "Cosine decay of the learning rate to zero over this many steps (0: constant)."
    )

    def validate(self) -> None:
        """Raise ConfigError for values out of range."""
        if self.task not in TASKS:
            raise ConfigError(f"--task {self.task}: choose content or style")
        if not 4 <= self.width <= 1024:  # an upper bound before torch allocates (issue 19)
            raise ConfigError(f"--width {self.width}: must lie in 4..1,024")
        if not self.lr > 0:
            raise ConfigError(f"--lr {self.lr}: must be positive")
        if self.lr_decay_steps < 0:
            raise ConfigError(f"--lr-decay-steps {self.lr_decay_steps}: must be 0 or more")
        if not 0 <= self.label_smoothing < 1:
            raise ConfigError(f"--label-smoothing {self.label_smoothing}: must lie in [0, 1)")


@dataclass
class ClassifierDataConfig:
    """Real glyphs of a corpus, a held-out split, and the share of each batch augmented."""

    corpus: str | None = option(None, "Corpus folder from `hangulgan render`.", path=True)
    faces: list[str] | None = option(
        None, "Use these faces only (repeat, or comma-separate). Default: all.", multiple=True
    )
    charset: str = option(
        "all", "Syllables to use: all, ksx1001, seed16, or a text file.", path=CHARSET_NAMES
    )
    glyph_sets: list[str] | None = option(
        None,
        "Glyph-set folders trained on beside the corpus faces, each as one more face: a "
        "model's drawings (`hangulgan generate`), say (repeat, or comma-separate).",
        multiple=True,
        path=True,
    )
    holdout_faces: list[str] | None = option(
        None,
        "Faces never trained on, for the content classifier's held-out accuracy (repeat, "
        "or comma-separate; 'default' names the shipped classifier's nine).",
        multiple=True,
    )
    holdout_fraction: float = option(
        0.0, "Share of the syllables never trained on (the style classifier's held-out data)."
    )
    split_seed: int = option(0, "Seed of the held-out syllables.")
    augment_share: float = option(
        0.75, "Share of each batch distorted by the render stage's augmentation."
    )

    def validate(self) -> None:
        """Raise ConfigError for values out of range."""
        if not 0 <= self.holdout_fraction < 1:
            raise ConfigError(f"--holdout-fraction {self.holdout_fraction}: must lie in [0, 1)")
        if not 0 <= self.augment_share <= 1:
            raise ConfigError(f"--augment-share {self.augment_share}: must lie in [0, 1]")

    @property
    def holdout_face_list(self) -> list[str]:
        """The held-out faces, comma-separated entries split and 'default' expanded."""
        names: list[str] = []
        for entry in self.holdout_faces or []:
            for name in entry.split(","):
                name = name.strip()
                if name == "default":
                    names += list(DEFAULT_HOLDOUT_FACES)
                elif name:
                    names.append(name)
        return list(dict.fromkeys(names))
