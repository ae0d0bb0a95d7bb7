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

The pieces, one job each: :mod:`~hangulgan.models.styled_config` (the options, torch-free),
:mod:`~hangulgan.models.styled_split` (held-out syllables, reference lists),
:mod:`~hangulgan.models.styled_nets` (the networks), :mod:`~hangulgan.models.styled_data`
(the batches), this module (the model the trainer trains), and for drawing
:mod:`~hangulgan.models.styled_inference`, :mod:`~hangulgan.models.styled_references` and
:mod:`~hangulgan.models.styled_weights` (the weight files).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from hangulgan.errors import CheckpointError, ConfigError
from hangulgan.models.styled_config import StyledConfig, StyledDataConfig
from hangulgan.models.styled_data import StyledDataset
from hangulgan.models.styled_nets import Discriminator, StyledNet
from hangulgan.models.styled_weights import MODEL_NAME, load_net_state
from hangulgan.train.contract import Capability, DataInfo, Model
from hangulgan.train.options import ModelConfig


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


class StyledModel(Model):
    """The few-shot generator as a trainable model (see the module docstring)."""

    name = MODEL_NAME
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
