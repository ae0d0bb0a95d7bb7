"""Adaptation to the references: fine-tune the few-shot generator on the K glyphs a user gave.

The style code alone saturates: 64 references draw about what 8 do, and the drawing stays
near a face the model already knew. Fine-tuning every weight of the generator on the
references themselves is what moves it to the face that was given. Measured by
``benchmarks/bench_adapt.py`` on the shipped weights' ten held-out faces (32 px, up to 300
held-out syllables each): with 8 references, 100 steps at learning rate 3e-4 lift ink IoU
by +0.04 to +0.16 per face over the unadapted drawing and put every face above both copy
baselines (+0.08 to +0.26 over the nearest copy); with 64 references +0.11 to +0.36 over
the nearest copy. Chosen on the L1-only variant: twice the steps changed ink IoU by under
0.01; a lower rate (1e-4) was lower on nine faces of ten; adapting only the style path
(encoder, pool, AdaIN) learnt less; a joint random affine jitter of sources and targets
did not pay.

Each training item is one reference drawn as a target from the *other* references, so the
generator learns the face's drawing, not a copy of its input: a step takes ``groups`` runs
of ``targets_per_group`` targets, each run with ``k`` references drawn from the rest. The
draws come from the batch's indices and the seed, so adaptation is deterministic.

L1 on K glyphs alone teaches the face's layout and slant but not the shape of every jamo:
with 8 UnPilgi references the drawing gained ink IoU while the shipped content classifier
read only half of the other syllables right (0.98 before: finals became blobs, 돣 came out
as 롻). So each step also draws :data:`PROBES` random syllables in the references' style,
and the frozen content classifier's jamo cross-entropy on them and on the targets keeps
every syllable legible (weight :data:`CONTENT_WEIGHT`, the training run's): on UnPilgi
content accuracy 0.977 and ink IoU 0.345 (L1 alone: 0.513 and 0.340). That classifier is
the one ``evaluate`` reads content accuracy with, so after adaptation that figure is no
independent judge: Tesseract on the exported font is (``evaluate --ocr``).

With more references a plain mean over a step's targets and probes let the probes' share
fall (64 targets to 16 probes): content accuracy at K = 64 dropped to 0.835 on Black Han
Sans and 0.890 on Gaegu. The probes therefore keep K = 8's share of the content loss
(:data:`PROBE_SHARE`) at every K, which lifted those to 0.917 and 0.911 with ink IoU within
0.005 (a run of those two faces alone); and a step holds at most 32 targets
(:data:`MAX_GROUPS` runs of 4), so that K = 64 adapts in the time K = 32 does (10.5 s on 2
idle cores, ``bench_adapt.py``'s timing pass).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from hangulgan import hangul
from hangulgan.errors import AdaptationDiverged, ConfigError
from hangulgan.models.styled import StyledModel
from hangulgan.models.styled_config import ADAPT_LR, DEFAULT_ADAPT_STEPS, StyledConfig

MAX_REFS_PER_TARGET = 16  # references each target is drawn from (the encoder's cost)
MAX_GROUPS = 8  # so a step has at most 32 targets, whatever K is (the 120 s budget)
PROBES = 16  # random syllables a step draws for the content loss
CONTENT_WEIGHT = 0.05
PROBE_SHARE = 2 / 3  # of the content loss, on the probes (K = 8's 16 of 24, for every K)
CONTENT_CRITIC = "content-classifier.safetensors"  # the shipped one (hangulgan/weights/)
DIVERGENCE_FACTOR = 4.0  # a loss this many times the first step's is divergence


@dataclass(frozen=True)
class AdaptPlan:
    """How a step is cut for K references (see the module docstring)."""

    targets_per_group: int
    groups: int
    refs_per_target: int

    @property
    def batch(self) -> int:
        """Targets per step."""
        return self.targets_per_group * self.groups

    @classmethod
    def for_references(cls, k: int) -> AdaptPlan:
        """The plan for ``k`` references: one target a run up to 8 references (each drawn
        from all the others), then runs of up to 4 targets sharing up to 16 references."""
        if k < 2:
            raise ConfigError(
                f"adaptation needs at least 2 references (got {k}): each is drawn from the others"
            )
        per_group = 1 if k <= 8 else min(4, k // 4)
        groups = min(MAX_GROUPS, k // per_group)
        return cls(per_group, groups, min(k - per_group, MAX_REFS_PER_TARGET))


def check_references(images: np.ndarray, codepoints: np.ndarray, label: str) -> None:
    """ConfigError (naming ``label``) for references adaptation cannot learn from: fewer than
    two, one not a Hangul syllable, a blank one, or all drawn alike."""
    cps = np.asarray(codepoints, dtype=np.int64)
    if len(cps) < 2:
        raise ConfigError(f"{label}: --adapt needs at least 2 reference syllables, got {len(cps)}")
    outside = [int(cp) for cp in cps if not hangul.is_syllable(int(cp))]
    if outside:
        raise ConfigError(
            f"{label}: --adapt learns from Hangul syllables only; "
            f"{', '.join(f'U+{cp:04X}' for cp in outside[:4])} is not one"
        )
    images = np.asarray(images)
    blank = [chr(int(cp)) for cp, image in zip(cps, images, strict=True) if image.max() < 128]
    if blank:
        raise ConfigError(f"{label}: blank reference(s) {''.join(blank)}: nothing to learn from")
    flat = images.reshape(len(images), -1)
    if np.all(flat == flat[0]):
        raise ConfigError(
            f"{label}: all {len(images)} references are the same image; give each syllable "
            "its own drawing"
        )


class ReferenceData:
    """The K references as training data (the trainer's ``TrainingData`` protocol)."""

    channels = 1
    ink = True
    loader_workers = 0
    batch_keys = (
        *("image", "source", "jamo", "face", "group", "refs", "ref_jamo"),
        *("probe_source", "probe_jamo"),
    )

    def __init__(
        self,
        images: np.ndarray,
        codepoints: np.ndarray,
        content: np.ndarray,
        name: str = "references",
        seed: int = 0,
    ) -> None:
        self.codepoints = np.asarray(codepoints, dtype=np.int64)
        self.plan = AdaptPlan.for_references(len(self.codepoints))
        self.size = (int(content.shape[1]), int(content.shape[2]))
        images = np.asarray(images, dtype=np.uint8)
        if images.shape != (len(self.codepoints), *self.size):
            raise ConfigError(
                f"{name}: references must be {len(self.codepoints)}×{self.size[0]}×"
                f"{self.size[1]}, got {images.shape}"
            )
        self.face_names = [name]
        self.seed = seed
        self._content = content
        self._images = _to_unit(images)
        self._sources = _to_unit(content[self.codepoints - hangul.FIRST])
        self._jamo = torch.from_numpy(hangul.jamo_table(self.codepoints))

    def __len__(self) -> int:
        return len(self.codepoints)

    def _rng(self, indices: np.ndarray) -> np.random.Generator:
        digest = hashlib.blake2b(indices.astype(np.int64).tobytes(), digest_size=8)
        digest.update(int(self.seed).to_bytes(8, "little", signed=True))
        return np.random.default_rng(int.from_bytes(digest.digest(), "little"))

    def get_batch(self, indices: np.ndarray, seed: int | None = None) -> dict[str, torch.Tensor]:
        """Runs of ``targets_per_group`` targets from ``indices``, each run with references
        drawn from the other references, and :data:`PROBES` random syllables for the
        content loss (seeded by the indices, not by ``seed``)."""
        indices = np.asarray(indices, dtype=np.int64)
        rng = self._rng(indices)
        per_group, k = self.plan.targets_per_group, self.plan.refs_per_target
        runs = [indices[i : i + per_group] for i in range(0, len(indices), per_group)]
        runs = [run for run in runs if len(run) == per_group]
        refs = []
        for run in runs:
            others = np.setdiff1d(np.arange(len(self)), run)
            refs.append(np.sort(rng.choice(others, size=k, replace=False)))
        targets = np.concatenate(runs)
        ref_rows = np.stack(refs)
        probes = rng.choice(hangul.N_SYLLABLES, size=PROBES, replace=False) + hangul.FIRST
        return {
            "probe_source": _to_unit(self._content[probes - hangul.FIRST]),
            "probe_jamo": torch.from_numpy(hangul.jamo_table(probes)),
            "image": self._images[targets],
            "source": self._sources[targets],
            "jamo": self._jamo[targets],
            "face": torch.zeros(len(targets), dtype=torch.long),
            "group": torch.arange(len(runs)).repeat_interleave(per_group),
            "refs": self._images[ref_rows.reshape(-1)].view(len(runs), k, 1, *self.size),
            "ref_jamo": self._jamo[ref_rows.reshape(-1)].view(len(runs), k, 3),
        }


def _to_unit(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).float().div_(127.5).sub_(1).unsqueeze(1)


class DivergenceWatch:
    """A trainer step callback: stops the run when the L1 loss is non-finite or rises past
    :data:`DIVERGENCE_FACTOR` times its first value."""

    def __init__(self) -> None:
        self.first: float | None = None
        self.reason = ""

    def __call__(self, trainer: Any, step: int, losses: dict[str, torch.Tensor]) -> None:
        value = float(losses["l1"])
        if self.first is None and math.isfinite(value):
            self.first = value
        if not math.isfinite(value):
            self.reason = f"the loss became {value} at step {step}"
        elif self.first is not None and value > DIVERGENCE_FACTOR * max(self.first, 1e-3):
            self.reason = f"the loss rose from {self.first:.4f} to {value:.4f} at step {step}"
        if self.reason:
            trainer.request_stop()


def finetune_config(config: StyledConfig, lr: float) -> StyledConfig:
    """The generator's config for fine-tuning on a face's own glyphs: L1 alone (the glyphs
    are the targets, and the training run's content critic and discriminator need not
    exist on this machine)."""
    return StyledConfig(
        **config.to_dict()
        | {"init_from": "", "lr": lr, "adv_weight": 0.0, "content_weight": 0.0}
        | {"content_critic": ""}
    )


def adapt_config(config: StyledConfig, lr: float = ADAPT_LR) -> StyledConfig:
    """The config for adaptation to K references: L1 plus the content loss of the shipped
    content classifier (see the module docstring)."""
    from hangulgan.train.weights import shipped_weights

    critic = shipped_weights(CONTENT_CRITIC)
    return StyledConfig(
        **finetune_config(config, lr).to_dict()
        | {"content_weight": CONTENT_WEIGHT, "content_critic": str(critic)}
    )


class AdaptingModel(StyledModel):
    """The styled model as adaptation trains it: L1 to the references, and the content loss
    on them and on the batch's probe syllables drawn in the first run's references' style."""

    def training_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        """One step of L1 + content loss (the critic is frozen; only the generator learns)."""
        batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        net = self.networks["net"]
        codes = net.encode(batch["refs"])
        fake = net(batch["source"], batch["jamo"], codes, batch["ref_jamo"], batch["group"])
        l1 = (fake - batch["image"]).abs().mean()
        probes = batch["probe_source"]
        alone = torch.zeros(len(probes), dtype=torch.long, device=probes.device)
        probe_fake = net(probes, batch["probe_jamo"], codes[:1], batch["ref_jamo"][:1], alone)
        logits = self.critic(torch.cat([fake, probe_fake]))
        jamo = torch.cat([batch["jamo"], batch["probe_jamo"]])
        on_probe = torch.arange(len(jamo), device=jamo.device) >= len(fake)
        per_item = sum(
            F.cross_entropy(logits[name].float(), jamo[:, k], reduction="none")
            for k, name in enumerate(("initial", "medial", "final"))
        )
        # The probes keep their share however many targets a step has: with 64 references
        # a plain mean over 64 targets and 16 probes let the unseen syllables drift.
        on_targets, on_probes = per_item[~on_probe].mean(), per_item[on_probe].mean()
        content = (1 - PROBE_SHARE) * on_targets + PROBE_SHARE * on_probes
        loss = self.config.l1_weight * l1 + self.config.content_weight * content / 3
        self.zero_grad([self.optimizers["net"]])
        loss.backward()
        self.optimizer_step("net")
        return {"l1": l1.detach(), "content": (content / 3).detach()}


def adapt_state(
    config: StyledConfig,
    state: dict[str, torch.Tensor],
    data: ReferenceData,
    steps: int = DEFAULT_ADAPT_STEPS,
    lr: float = ADAPT_LR,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, torch.Tensor]:
    """The generator's weights ``state`` fine-tuned on ``data`` by the shared trainer.

    Raises :class:`AdaptationDiverged` when the loss goes non-finite or rises past its bound,
    or the weights come out non-finite (the caller keeps the weights it had), and
    KeyboardInterrupt when the run was stopped by Ctrl-C or SIGTERM."""
    from hangulgan.train.config import TrainConfig
    from hangulgan.train.trainer import new_model, train

    if steps < 1:
        raise ConfigError(f"--adapt-steps {steps}: must be 1 or more")
    train_config = TrainConfig(
        steps=steps,
        batch=data.plan.batch,
        seed=seed,
        amp="off",
        log_every=max(1, steps // 10),
        sample_every=0,
        checkpoint_every=0,
        progress=progress,
    )
    model = new_model(AdaptingModel, adapt_config(config, lr), data, train_config)
    model.networks["net"].load_state_dict(state)
    watch = DivergenceWatch()
    result = train(model, train_config, data, None, callbacks=[watch])
    if result.interrupted and not watch.reason:  # Ctrl-C: the caller writes nothing
        raise KeyboardInterrupt
    if watch.reason:
        raise AdaptationDiverged(f"adaptation stopped: {watch.reason}")
    tuned = {k: v.detach().clone() for k, v in result.model.networks["net"].state_dict().items()}
    bad = [k for k, v in tuned.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise AdaptationDiverged(f"adaptation gave non-finite weights ({bad[0]})")
    return tuned
