"""The style-conditioned, few-shot glyph generator: any syllable in the style of K references.

What the generator sees for one target syllable:

* **content**: the syllable's glyph in a fixed source face (NanumGothic by default, which
  draws all 11,172) and embeddings of its initial, medial and final jamo. A syllable never
  seen in training still has its parts right, because both inputs spell them out;
* **style**: K reference glyphs of the target face (any K ≥ 1), each encoded alone by a
  small CNN into a style code. The codes are pooled per target in two ways that are
  concatenated: their mean (the face's overall weight, contrast and slant), and a
  *component-aware* attention whose query is the target's jamo and whose keys are each
  reference's jamo and code, so references that share the target's initial, medial or
  final count most (the idea of DM-Font / LF-Font / MX-Font, here in its cheapest form).
  ``style_pool="mean"`` keeps only the mean, for the ablation.

The generator is a small U-Net over the source glyph: an encoder to 8×8, residual blocks
with AdaIN from the pooled style, and a decoder whose skip connections from the encoder
are re-modulated by the style at every scale. It draws all 11,172 syllables of a new face
on a CPU in seconds (``benchmarks/bench_styled.py``).

Training batches group targets by face so that one set of K references serves several
targets (the reference encoder then costs a fraction of a target's): the trainer's batch
indices are read in runs of ``targets_per_face``, the first index of a run names the face
and one target, the rest of the run's targets and the references are drawn from that face
with a generator seeded by the indices themselves — so a resumed or distributed run draws
the same batches. A target is never among its own references, and held-out syllables are
never drawn, as target or reference.

Losses: L1 to the real glyph; optionally (``content_weight > 0``) a content loss, the
cross-entropy of a frozen jamo classifier reading the generated glyph (L1 alone averages
plausible drawings into a blur that loses thin strokes, and a stroke lost is a different
syllable); and optionally (``adv_weight > 0``) a hinge loss from a patch discriminator
whose pooled features also classify the face and the jamo (AC-GAN style). The content
critic must be trained on the run's training faces and syllables only, and is a different
network from the classifier `hangulgan evaluate` reads with, so the two do not agree by
construction.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from hangulgan import hangul
from hangulgan.data.glyphset import GlyphSet
from hangulgan.errors import CheckpointError, ConfigError, CorpusError
from hangulgan.models.styled_weights import MODEL_NAME, load_net_state
from hangulgan.train.contract import Capability, DataInfo, Model
from hangulgan.train.options import ModelConfig, option

JAMO_COUNTS = (hangul.N_INITIALS, hangul.N_MEDIALS, hangul.N_FINALS)
STYLE_POOLS = ("attention", "mean")

# Common words (pangrams and everyday vocabulary) whose syllables are the candidates for a
# reference list: a user is asked to draw syllables they know, not rare ones like 뗄 or 쐽.
COMMON_TEXT = (
    "다람쥐 헌 쳇바퀴에 타고파 키스의 고유조건은 입술끼리 만나야 하고 특별한 기술은 필요치 "
    "않다 정 참판 양반댁 규수 큰 교자 타고 혼례 치른 날 값비싼 외투 닭 읽다 흙 넋 앉다 꽃 빛 "
    "몫 삶 젊은 밝은 햇살 웬 떡 뭘 봤니 왜 쉬 의사 얘기 예쁜 여우 쌀 뜻 짧은 껍질 찢다 뺨 뿔 "
    "쪽 핥다 읊다 없다 한글 글꼴"
)


def greedy_reference_cover(count: int, candidates: list[int] | None = None) -> str:
    """``count`` syllables covering as many distinct jamo as possible (greedy).

    Each pick maximises new initials + medials + finals; ties go to the earlier candidate.
    The default candidates are the KS X 1001 syllables of :data:`COMMON_TEXT`, in order.
    """
    if candidates is None:
        ksx = set(hangul.ksx1001_syllables())
        candidates = [
            cp
            for cp in dict.fromkeys(ord(c) for c in COMMON_TEXT)
            if hangul.is_syllable(cp) and cp in ksx
        ]
    seen: list[set[int]] = [set(), set(), set()]
    picked: list[int] = []
    for _ in range(count):
        best, best_gain = None, -1
        for cp in candidates:
            if cp in picked:
                continue
            parts = hangul.decompose(cp)
            gain = sum(parts[k] not in seen[k] for k in range(3))
            if gain > best_gain:
                best, best_gain = cp, gain
        if best is None:
            break
        picked.append(best)
        for k, part in enumerate(hangul.decompose(best)):
            seen[k].add(part)
    return "".join(map(chr, picked))


# The eight references a user is asked to draw (the greedy cover above): 8 distinct
# initials, 8 distinct medials of all three vowel shapes (vertical ㅏㅓㅔㅣ, horizontal
# ㅗㅜㅡ, mixed ㅘ) and 7 distinct finals plus a syllable without one. Every initial and
# every medial cannot fit in 8 syllables (each holds one of each; there are 19 and 21):
# ``greedy_reference_cover(24)`` gives a longer list that comes closer.
DEFAULT_REFERENCES = "다헌쳇입술특꽃봤"


@dataclass
class StyledConfig(ModelConfig):
    """Options of the few-shot generator's networks and losses."""

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
    )
    init_from: str = option(
        "", "Start from these weights: a styled run folder, a checkpoint or a weights file."
    )

    def validate(self) -> None:
        """Raise ConfigError for values out of range."""
        for name in ("width", "style_dim", "jamo_dim"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} {getattr(self, name)}: must be 1 or more")
        if self.res_blocks < 0:
            raise ConfigError(f"res_blocks {self.res_blocks}: must be 0 or more")
        if self.style_pool not in STYLE_POOLS:
            raise ConfigError(f"style_pool {self.style_pool!r}: choose {', '.join(STYLE_POOLS)}")
        if min(self.l1_weight, self.adv_weight, self.aux_weight, self.content_weight) < 0:
            raise ConfigError("loss weights must be 0 or more")
        if self.content_weight > 0 and not self.content_critic:
            raise ConfigError(
                "--content-weight needs --content-critic (a content classifier's weights)"
            )
        if not self.lr > 0:
            raise ConfigError(f"learning rate {self.lr}: must be positive")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ConfigError("Adam betas must lie in [0, 1)")


@dataclass
class StyledDataConfig:
    """What the few-shot generator trains on: a corpus, its split, and how batches are drawn."""

    corpus: str | None = option(None, "Corpus folder from `hangulgan render`.")
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


# ----------------------------------------------------------------------------- the split


def holdout_syllables(fraction: float, seed: int, keep: str = DEFAULT_REFERENCES) -> np.ndarray:
    """Code points of the held-out syllables: ``fraction`` of all 11,172, never ``keep``.

    Drawn with numpy's PCG64 from ``seed``, so the split is the same on every machine.
    """
    everything = np.arange(hangul.FIRST, hangul.LAST + 1, dtype=np.int64)
    eligible = everything[~np.isin(everything, [ord(c) for c in keep])]
    count = int(round(fraction * hangul.N_SYLLABLES))
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(eligible, size=count, replace=False))


def training_syllables(fraction: float, seed: int) -> str:
    """The syllables a styled run with this split may train on, as text (for ``--charset``).

    What a content critic for ``--content-weight`` should be trained on, so that it never
    sees a held-out syllable either.
    """
    held = set(holdout_syllables(fraction, seed).tolist())
    return "".join(chr(c) for c in hangul.all_syllables() if c not in held)


# ----------------------------------------------------------------------------- networks


class JamoEmbedding(nn.Module):
    """Initial, medial and final embeddings, concatenated (…×3 → …×3d)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(n, dim) for n in JAMO_COUNTS)

    def forward(self, jamo: torch.Tensor) -> torch.Tensor:
        return torch.cat([table(jamo[..., k]) for k, table in enumerate(self.tables)], dim=-1)


class StyleEncoder(nn.Module):
    """One reference glyph → one style code (B×1×H×W → B×style_dim)."""

    def __init__(self, width: int, style_dim: int) -> None:
        super().__init__()
        w = width
        self.convs = nn.Sequential(
            nn.Conv2d(1, w, 4, 2, 1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(w, 2 * w, 4, 2, 1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * w, 4 * w, 4, 2, 1),
            nn.LeakyReLU(0.2, inplace=True),
        )
        self.out = nn.Linear(8 * w, style_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.convs(images)
        pooled = torch.cat([features.mean(dim=(2, 3)), features.amax(dim=(2, 3))], dim=1)
        return self.out(pooled)


class StylePool(nn.Module):
    """K reference codes → one style vector per target (mean ⊕ component-aware attention)."""

    def __init__(self, style_dim: int, jamo_dim: int, mode: str) -> None:
        super().__init__()
        self.mode = mode
        self.jamo = JamoEmbedding(jamo_dim)
        if mode == "attention":
            self.query = nn.Linear(3 * jamo_dim, style_dim)
            self.key = nn.Linear(3 * jamo_dim + style_dim, style_dim)
            self.value = nn.Linear(style_dim, style_dim)
            self.out = nn.Linear(2 * style_dim, style_dim)
        else:
            self.out = nn.Linear(style_dim, style_dim)

    def forward(
        self,
        codes: torch.Tensor,  # G×K×D reference codes
        ref_jamo: torch.Tensor,  # G×K×3
        jamo: torch.Tensor,  # N×3 target jamo
        group: torch.Tensor,  # N: which reference set each target uses
    ) -> torch.Tensor:
        mean = codes.mean(dim=1)[group]  # N×D
        if self.mode == "mean":
            return self.out(mean)
        ref_embed = self.jamo(ref_jamo)  # G×K×3J
        keys = self.key(torch.cat([ref_embed, codes], dim=-1))[group]  # N×K×D
        values = self.value(codes)[group]  # N×K×D
        query = self.query(self.jamo(jamo)).unsqueeze(1)  # N×1×D
        logits = (query * keys).sum(-1) / math.sqrt(keys.shape[-1])  # N×K
        attended = (logits.softmax(dim=1).unsqueeze(-1) * values).sum(dim=1)
        return self.out(torch.cat([mean, attended], dim=-1))


class AdaIN(nn.Module):
    """Instance norm whose per-sample scale and shift come from the style vector.

    ``F.instance_norm`` then one ``addcmul``: measured on one CPU core, 2–3× faster than
    statistics from ``torch.var_mean`` over the spatial dimensions (which took 39% of
    drawing time) and 1.4–1.9× faster forward and backward in training, to within 2e-6.
    """

    eps = 1e-5

    def __init__(self, channels: int, style_dim: int) -> None:
        super().__init__()
        self.affine = nn.Linear(style_dim, 2 * channels)
        nn.init.zeros_(self.affine.weight)
        with torch.no_grad():  # start as plain instance norm: scale 1, shift 0
            self.affine.bias.copy_(torch.cat([torch.ones(channels), torch.zeros(channels)]))

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        scale, shift = self.affine(style)[:, :, None, None].chunk(2, dim=1)
        return torch.addcmul(shift, F.instance_norm(x, eps=self.eps), scale)


class ResBlock(nn.Module):
    """conv → AdaIN → ReLU → conv → AdaIN, plus the input."""

    def __init__(self, channels: int, style_dim: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.norm1 = AdaIN(channels, style_dim)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.norm2 = AdaIN(channels, style_dim)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.norm1(self.conv1(x), style), inplace=True)
        return x + self.norm2(self.conv2(h), style)


class Generator(nn.Module):
    """Source glyph + jamo + style vector → the target glyph (N×1×H×W in [-1, 1])."""

    def __init__(self, config: StyledConfig) -> None:
        super().__init__()
        w, s = config.width, config.style_dim
        self.enc0 = nn.Conv2d(1, w, 3, 1, 1)  # H
        self.enc1 = nn.Conv2d(w, 2 * w, 4, 2, 1)  # H/2
        self.enc2 = nn.Conv2d(2 * w, 4 * w, 4, 2, 1)  # H/4
        self.jamo = JamoEmbedding(config.jamo_dim)
        self.jamo_in = nn.Linear(3 * config.jamo_dim, 4 * w)
        self.norm_in = AdaIN(4 * w, s)
        self.blocks = nn.ModuleList(ResBlock(4 * w, s) for _ in range(config.res_blocks))
        # 1×1 convolution + pixel shuffle: a 2×2 stride-2 transposed convolution at a
        # fraction of ConvTranspose2d's CPU cost; the 3×3 convolution after it mixes space.
        self.up1 = nn.Sequential(nn.Conv2d(4 * w, 8 * w, 1), nn.PixelShuffle(2))  # H/2
        self.norm_up1 = AdaIN(2 * w, s)
        self.skip1 = AdaIN(2 * w, s)
        self.dec1 = nn.Conv2d(4 * w, 2 * w, 3, 1, 1)
        self.norm_dec1 = AdaIN(2 * w, s)
        self.up2 = nn.Sequential(nn.Conv2d(2 * w, 4 * w, 1), nn.PixelShuffle(2))  # H
        self.norm_up2 = AdaIN(w, s)
        self.skip0 = AdaIN(w, s)
        self.out = nn.Conv2d(2 * w, 1, 3, 1, 1)

    def forward(
        self, source: torch.Tensor, jamo: torch.Tensor, style: torch.Tensor
    ) -> torch.Tensor:
        act = nn.functional.leaky_relu
        e0 = act(self.enc0(source), 0.2)
        e1 = act(self.enc1(e0), 0.2)
        e2 = act(self.enc2(e1), 0.2)
        h = e2 + self.jamo_in(self.jamo(jamo)).unsqueeze(-1).unsqueeze(-1)
        h = self.norm_in(h, style)
        for block in self.blocks:
            h = block(h, style)
        h = F.relu(self.norm_up1(self.up1(h), style), inplace=True)
        h = torch.cat([h, self.skip1(e1, style)], dim=1)
        h = F.relu(self.norm_dec1(self.dec1(h), style), inplace=True)
        h = F.relu(self.norm_up2(self.up2(h), style), inplace=True)
        h = torch.cat([h, self.skip0(e0, style)], dim=1)
        return torch.tanh(self.out(h))


class Discriminator(nn.Module):
    """Patch realness plus face and jamo classification from pooled features."""

    def __init__(self, width: int, num_faces: int) -> None:
        super().__init__()
        w = width
        self.convs = nn.Sequential(
            spectral_norm(nn.Conv2d(1, w, 4, 2, 1)),
            nn.LeakyReLU(0.2, inplace=True),
            spectral_norm(nn.Conv2d(w, 2 * w, 4, 2, 1)),
            nn.LeakyReLU(0.2, inplace=True),
            spectral_norm(nn.Conv2d(2 * w, 4 * w, 3, 1, 1)),
            nn.LeakyReLU(0.2, inplace=True),
        )
        self.patch = spectral_norm(nn.Conv2d(4 * w, 1, 3, 1, 1))
        self.face = nn.Linear(4 * w, max(num_faces, 1))
        self.jamo = nn.ModuleList(nn.Linear(4 * w, n) for n in JAMO_COUNTS)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list]:
        features = self.convs(images)
        pooled = features.mean(dim=(2, 3))
        return self.patch(features), self.face(pooled), [head(pooled) for head in self.jamo]


class StyledNet(nn.Module):
    """Everything the generator side needs at inference: reference encoder, pool, generator."""

    def __init__(self, config: StyledConfig) -> None:
        super().__init__()
        self.encoder = StyleEncoder(config.width, config.style_dim)
        self.pool = StylePool(config.style_dim, config.jamo_dim, config.style_pool)
        self.generator = Generator(config)

    def encode(self, refs: torch.Tensor) -> torch.Tensor:
        """G×K×1×H×W reference glyphs → G×K×D codes."""
        groups, k = refs.shape[:2]
        return self.encoder(refs.flatten(0, 1)).view(groups, k, -1)

    def forward(
        self,
        source: torch.Tensor,
        jamo: torch.Tensor,
        codes: torch.Tensor,
        ref_jamo: torch.Tensor,
        group: torch.Tensor,
    ) -> torch.Tensor:
        style = self.pool(codes, ref_jamo, jamo, group)
        return self.generator(source, jamo, style)


def load_content_critic(path: str | Path, size: tuple[int, int]) -> nn.Module:
    """The frozen jamo classifier of the content loss (eval mode, no gradients to its weights).

    CheckpointError when ``path`` is not a content classifier of glyphs of ``size``.
    """
    # The classifier is trained by the same trainer and exported by the eval stage; only
    # its network is borrowed here, as a fixed judge of legibility.
    from hangulgan.eval.classifier import load_classifier

    classifier = load_classifier(path)
    if classifier.task != "content":
        raise CheckpointError(f"{path}: a {classifier.task} classifier, not a content one")
    if tuple(classifier.size) != tuple(size):
        raise CheckpointError(
            f"{path}: reads {classifier.size[0]}×{classifier.size[1]} glyphs, this corpus has "
            f"{size[0]}×{size[1]}"
        )
    net = classifier.net.eval()
    net.requires_grad_(False)
    return net


# ----------------------------------------------------------------------------- data


def _to_unit(images: np.ndarray) -> torch.Tensor:
    """uint8 N×H×W → float N×1×H×W in [-1, 1] (ink = +1)."""
    return torch.from_numpy(np.ascontiguousarray(images)).unsqueeze(1).float().div_(127.5).sub_(1)


class StyledDataset:
    """Training items of the few-shot generator: (face, syllable) pairs with references.

    ``len`` counts the (face, syllable) pairs of the training split; :meth:`get_batch`
    turns a run of indices into targets and references as the module docstring describes.
    """

    channels = 1
    ink = True
    loader_workers = 0  # in memory: batches are cheap to draw in the training process
    batch_keys = ("image", "source", "jamo", "face", "group", "refs", "ref_jamo")

    def __init__(self, corpus: Any, config: StyledDataConfig, seed: int = 0) -> None:
        from hangulgan.data.corpus import Corpus

        config.validate()
        corpus = corpus if isinstance(corpus, Corpus) else Corpus.open(corpus)
        self.corpus = corpus
        self.config = config
        self.seed = seed
        faces = config.faces
        held_faces = set(config.holdout_face_list)
        unknown = sorted(held_faces - set(corpus.face_names))
        if unknown:
            raise CorpusError(f"{corpus.folder}: held-out face(s) not in the corpus: {unknown}")
        names = [n for n in (faces or corpus.face_names) if n not in held_faces]
        if config.content_face not in corpus.face_names:
            raise CorpusError(
                f"{corpus.folder}: the content face {config.content_face!r} is not in the corpus"
            )
        content = corpus.face(config.content_face, augmented=False)
        self._setup(
            [(name, corpus.face(name, augmented=False)) for name in names],
            content_table(content.images, content.codepoints, corpus.size),
            holdout_syllables(config.holdout_fraction, config.split_seed),
            source=str(corpus.folder),
        )

    @classmethod
    def from_glyphsets(
        cls,
        glyphsets: list[GlyphSet],
        content: np.ndarray,
        config: StyledDataConfig,
        seed: int = 0,
    ) -> StyledDataset:
        """A dataset over glyph sets at hand (e.g. one font's own glyphs, to fine-tune on).

        ``content`` is the 11,172×H×W content table (:func:`content_table`); no syllable
        is held out.
        """
        dataset = cls.__new__(cls)
        dataset.corpus = None
        dataset.config = config
        dataset.seed = seed
        names = ", ".join(g.name for g in glyphsets)
        dataset._setup(
            [(g.name, g) for g in glyphsets], content, np.zeros(0, np.int64), source=names
        )
        return dataset

    def _setup(
        self,
        faces: list[tuple[str, GlyphSet]],
        content: np.ndarray,
        held: np.ndarray,
        source: str,
    ) -> None:
        config = self.config
        self.size = (int(content.shape[1]), int(content.shape[2]))
        self.content = content
        self.heldout = held
        self.face_names: list[str] = []
        self._images: list[np.ndarray] = []
        self._codepoints: list[np.ndarray] = []
        face_of, row_of = [], []
        for name, glyphs in faces:
            if glyphs.size != self.size:
                raise CorpusError(
                    f"{name}: glyphs of {glyphs.size}, the content face's {self.size}"
                )
            train_rows = np.flatnonzero(~np.isin(glyphs.codepoints, held))
            # faces drawing fewer syllables than a batch needs cannot give disjoint references
            if len(train_rows) < config.targets_per_face + config.refs_max:
                continue
            index = len(self.face_names)
            self.face_names.append(name)
            self._images.append(glyphs.images)
            self._codepoints.append(glyphs.codepoints.astype(np.int64))
            face_of.append(np.full(len(train_rows), index, dtype=np.int64))
            row_of.append(train_rows.astype(np.int64))
        if not self.face_names:
            raise CorpusError(f"{source}: no face left to train on after the split")
        self._face = np.concatenate(face_of)
        self._row = np.concatenate(row_of)
        self._train_rows = [np.flatnonzero(~np.isin(cps, held)) for cps in self._codepoints]
        self.codepoints = np.concatenate(
            [cps[rows] for cps, rows in zip(self._codepoints, self._train_rows, strict=True)]
        )

    @property
    def num_faces(self) -> int:
        """How many faces the generator trains on."""
        return len(self.face_names)

    def __len__(self) -> int:
        return len(self._row)

    def _rng(self, indices: np.ndarray) -> np.random.Generator:
        digest = hashlib.blake2b(indices.astype(np.int64).tobytes(), digest_size=8)
        digest.update(int(self.seed).to_bytes(8, "little", signed=True))
        return np.random.default_rng(int.from_bytes(digest.digest(), "little"))

    def get_batch(
        self, indices: np.ndarray | list[int], seed: int | None = None
    ) -> dict[str, torch.Tensor]:
        """Targets (in runs of ``targets_per_face`` from one face) and their references.

        The draws come from a generator seeded by the indices and the dataset's seed (not
        ``seed``), so the same indices always give the same batch.
        """
        indices = np.asarray(indices, dtype=np.int64)
        rng = self._rng(indices)
        per_face = self.config.targets_per_face
        k = int(rng.integers(self.config.refs_min, self.config.refs_max + 1))
        anchors = indices[::per_face]
        targets, refs, faces = [], [], []
        for anchor in anchors:
            face = int(self._face[anchor])
            rows = self._train_rows[face]
            anchor_row = int(self._row[anchor])
            need = per_face - 1 + k
            # one spare draw: at most one of them is the anchor, which is dropped
            drawn = rows[rng.choice(len(rows), size=need + 1, replace=False)]
            drawn = drawn[drawn != anchor_row][:need]
            targets.append(np.concatenate([[anchor_row], drawn[: per_face - 1]]))
            refs.append(drawn[per_face - 1 :])
            faces.append(face)
        target_images, target_cps, group, face_ids = [], [], [], []
        ref_images, ref_cps = [], []
        for g, (face, rows, ref_rows) in enumerate(zip(faces, targets, refs, strict=True)):
            target_images.append(self._images[face][np.sort(rows)])
            target_cps.append(self._codepoints[face][np.sort(rows)])
            ref_images.append(self._images[face][np.sort(ref_rows)])
            ref_cps.append(self._codepoints[face][np.sort(ref_rows)])
            group.append(np.full(len(rows), g))
            face_ids.append(np.full(len(rows), face))
        cps = np.concatenate(target_cps)
        ref_cps_all = np.stack(ref_cps)
        return {
            "image": _to_unit(np.concatenate(target_images)),
            "source": _to_unit(self.content[cps - hangul.FIRST]),
            "jamo": torch.from_numpy(hangul.jamo_table(cps)),
            "face": torch.from_numpy(np.concatenate(face_ids)),
            "group": torch.from_numpy(np.concatenate(group)),
            "refs": _to_unit(np.concatenate(ref_images)).view(len(faces), k, 1, *self.size),
            "ref_jamo": torch.from_numpy(hangul.jamo_table(ref_cps_all.reshape(-1))).view(
                len(faces), k, 3
            ),
        }


def content_table(images: np.ndarray, codepoints: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An 11,172×H×W uint8 table of the content face, indexed by syllable (blank where absent)."""
    table = np.zeros((hangul.N_SYLLABLES, *size), dtype=np.uint8)
    cps = np.asarray(codepoints, dtype=np.int64)
    keep = (cps >= hangul.FIRST) & (cps <= hangul.LAST)
    table[cps[keep] - hangul.FIRST] = np.asarray(images)[keep]
    return table


# ----------------------------------------------------------------------------- the model


class StyledModel(Model):
    """The few-shot generator as a trainable model (see the module docstring)."""

    name = MODEL_NAME
    description = (
        "Few-shot style-conditioned generator: any syllable in the style of K reference "
        "glyphs (content from NanumGothic and the jamo, style pooled from the references)."
    )
    config_class = StyledConfig
    data_config_class = StyledDataConfig
    ema_networks = ("net",)
    samples_need_data = True  # grids show real references and targets beside the output

    def __init__(self, config: StyledConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        self.config: StyledConfig = config
        self.networks["net"] = StyledNet(config)
        if config.init_from:
            try:
                self.networks["net"].load_state_dict(load_net_state(config.init_from))
            except RuntimeError as err:
                raise CheckpointError(
                    f"{config.init_from}: weights do not fit this network "
                    f"({str(err).splitlines()[0]})"
                ) from None
        if config.adv_weight > 0:
            self.networks["disc"] = Discriminator(config.width, info.num_faces)
        # Frozen, so it is neither optimised nor checkpointed: the run's config names it.
        self.critic: nn.Module | None = None
        if config.content_weight > 0:
            self.critic = load_content_critic(config.content_critic, (info.height, info.width))

    @classmethod
    def make_dataset(cls, data: StyledDataConfig, config: ModelConfig) -> StyledDataset:
        """Targets with K references of their face, from the corpus and split of ``data``."""
        if not data.corpus:
            raise ConfigError("no corpus given (--corpus FOLDER, made by `hangulgan render`)")
        return StyledDataset(data.corpus, data)

    @classmethod
    def capabilities(cls, config: ModelConfig) -> frozenset[Capability]:
        """Sample grids; whole glyph sets come from `hangulgan generate`."""
        return frozenset({Capability.GRID})

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """One Adam per network (generator side, and the discriminator when adversarial)."""
        betas = (self.config.beta1, self.config.beta2)
        return {
            name: torch.optim.Adam(net.parameters(), lr=self.config.lr, betas=betas)
            for name, net in self.networks.items()
        }

    def _forward(self, net: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        codes = net.encode(batch["refs"])
        return net(batch["source"], batch["jamo"], codes, batch["ref_jamo"], batch["group"])

    def training_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        """L1 to the real glyph, plus the content loss when ``content_weight > 0`` and the
        hinge/AC-GAN terms when ``adv_weight > 0``."""
        cfg = self.config
        batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        net = self.networks["net"]
        fake = self._forward(net, batch)
        real = batch["image"]
        l1 = (fake - real).abs().mean()
        losses = {"l1": l1.detach()}
        loss_g = cfg.l1_weight * l1
        if self.critic is not None:
            self.critic.to(self.device)
            logits = self.critic(fake)
            content = (
                sum(
                    F.cross_entropy(logits[name].float(), batch["jamo"][:, k])
                    for k, name in enumerate(("initial", "medial", "final"))
                )
                / 3
            )
            loss_g = loss_g + cfg.content_weight * content
            losses["content"] = content.detach()
        if cfg.adv_weight > 0:
            disc = self.networks["disc"]
            self.zero_grad([self.optimizers["disc"]])
            patch_real, face_real, jamo_real = disc(real)
            patch_fake, _, _ = disc(fake.detach())
            loss_d = F.relu(1 - patch_real).mean() + F.relu(1 + patch_fake).mean()
            aux_d = F.cross_entropy(face_real.float(), batch["face"]) + sum(
                F.cross_entropy(logits.float(), batch["jamo"][:, k])
                for k, logits in enumerate(jamo_real)
            )
            (loss_d + cfg.aux_weight * aux_d).backward()
            self.optimizer_step("disc")
            patch, face_logits, jamo_logits = disc(fake)
            adv = -patch.mean()
            aux_g = F.cross_entropy(face_logits.float(), batch["face"]) + sum(
                F.cross_entropy(logits.float(), batch["jamo"][:, k])
                for k, logits in enumerate(jamo_logits)
            )
            loss_g = loss_g + cfg.adv_weight * adv + cfg.aux_weight * aux_g
            losses |= {"d": loss_d.detach(), "adv": adv.detach(), "aux": aux_g.detach()}
        self.zero_grad([self.optimizers["net"]])
        loss_g.backward()
        self.optimizer_step("net")
        return losses

    def grid_inputs(
        self,
        n: int,
        generator: torch.Generator,
        real: dict[str, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        """The fixed real batch: its references and targets, drawn anew by the generator."""
        if real is None:
            raise ConfigError("the styled model draws its grid from a fixed real batch")
        return real

    @torch.no_grad()
    def generate(
        self, inputs: dict[str, torch.Tensor], networks: dict[str, nn.Module] | None = None
    ) -> torch.Tensor:
        """The generated glyphs of the fixed batch."""
        net = (networks or self.networks)["net"]
        was_training = net.training
        net.eval()
        batch = {k: v.to(self.device) for k, v in inputs.items()}
        fake = self._forward(net, batch).float().cpu()
        net.train(was_training)
        return fake

    @torch.no_grad()
    def visuals(
        self, inputs: dict[str, torch.Tensor], networks: dict[str, nn.Module] | None = None
    ) -> dict[str, torch.Tensor]:
        """Content source | generated | real target, one row per target."""
        return {
            "source": inputs["source"],
            "generated": self.generate(inputs, networks),
            "real": inputs["image"],
        }
