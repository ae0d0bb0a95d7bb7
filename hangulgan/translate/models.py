"""The image-translation models, on the shared trainer: pix2pix and its U-Net autoencoder
baseline.

Both learn A → B from aligned pairs (:class:`~hangulgan.translate.data.TranslationData`).
pix2pix: a U-Net generator against a conditional PatchGAN (vanilla GAN loss) plus L1 × 100,
Adam 2e-4 β1 0.5, the learning rate constant for ``--lr-constant-steps`` and then decayed
linearly to zero over ``--lr-decay-steps`` (the reference's n_epochs / n_epochs_decay, in
steps). The learning rate is a function of the step alone, so a resumed run follows it
exactly without a scheduler's state. The autoencoder is the same U-Net trained on L1 or MSE
alone: the baseline the original examples compared pix2pix against.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from hangulgan.errors import ConfigError
from hangulgan.train.contract import Capability, DataInfo, Model
from hangulgan.train.options import TRANSLATION, ModelConfig
from hangulgan.translate.config import (
    AutoencoderConfig,
    Pix2PixConfig,
    TranslateDataConfig,
    TranslatorConfig,
    UNetConfig,
)
from hangulgan.translate.data import TranslationData, check_divisible
from hangulgan.translate.networks import PatchDiscriminator, UNetGenerator


def unet_depth(config_depth: int, size: int) -> int:
    """The U-Net depth: the configured one, or (0) down to 1×1 but at most 8."""
    if config_depth:
        return config_depth
    return max(2, min(8, size.bit_length() - 1))


def linear_decay(step: int, constant: int, decay: int) -> float:
    """pix2pix's schedule as a factor of the base rate: 1 for ``constant`` steps, then a
    linear fall over ``decay`` steps (1 - k/(decay+1), the reference's formula)."""
    if decay <= 0:
        return 1.0
    return max(0.0, 1.0 - max(0, step - constant) / float(decay + 1))


class Translator(Model):
    """What every translation model shares: its data, the LR schedule, grids of real inputs.

    Subclasses set ``paired`` (whether they need aligned pairs), ``size_factor`` (what the
    image side must divide by) and a config with ``lr``, ``beta1``, ``lr_constant_steps``
    and ``lr_decay_steps``; their generator A → B is ``networks[generator_name]``.
    """

    data_config_class = TranslateDataConfig
    samples_need_data = True
    family = TRANSLATION  # listed under `hangulgan translate train`
    config_class: ClassVar[type[ModelConfig]] = TranslatorConfig
    paired: ClassVar[bool] = True
    generator_name: ClassVar[str] = "G"
    weight_decay: ClassVar[float] = 0.0

    @classmethod
    def size_factor(cls, config: ModelConfig, size: int) -> tuple[int, str]:
        """What the image side must divide by, and which part of the model needs it."""
        return 1, cls.name

    @classmethod
    def make_dataset(cls, data: TranslateDataConfig, config: ModelConfig) -> TranslationData:
        check_divisible(data.size, *cls.size_factor(config, data.size))
        dataset = TranslationData(data)
        if cls.paired and not dataset.paired:
            raise ConfigError(
                f"{cls.name} learns from aligned pairs; {data.data or data.corpus} is unpaired "
                "(use A/ and B/, side-by-side images, or a corpus without --unpaired)"
            )
        return dataset

    @classmethod
    def capabilities(cls, config: ModelConfig) -> frozenset[Capability]:
        return frozenset({Capability.GRID, Capability.TRANSLATE})

    def __init__(self, config: TranslatorConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        self.config: TranslatorConfig = config
        for side in (info.height, info.width):
            check_divisible(side, *self.size_factor(config, side))

    def _set_lr(self, step: int) -> None:
        config = self.config
        factor = linear_decay(step, config.lr_constant_steps, config.lr_decay_steps)
        for optimizer in self.optimizers.values():
            for group in optimizer.param_groups:
                group["lr"] = config.lr * factor  # type: ignore[attr-defined]

    def _adam(self, *names: str) -> torch.optim.Optimizer:
        params = [p for name in names for p in self.networks[name].parameters()]
        return torch.optim.Adam(
            params,
            lr=self.config.lr,
            betas=(self.config.beta1, 0.999),
            weight_decay=self.weight_decay,
        )

    def grid_inputs(
        self, n: int, generator: torch.Generator, real: dict[str, torch.Tensor] | None = None
    ) -> dict[str, torch.Tensor]:
        if real is None:
            raise ConfigError(f"{self.name} translates real images: it needs a batch of them")
        return {"a": real["a"][:n], "b": real["b"][:n]}

    def translate(
        self, a: torch.Tensor, networks: dict[str, nn.Module] | None = None
    ) -> torch.Tensor:
        """A → B of a batch ``a`` on the model's device (no grad handling)."""
        G = (networks or {}).get(self.generator_name, self.networks[self.generator_name])
        return G(a.to(self.device))

    @torch.no_grad()
    def generate(
        self, inputs: dict[str, torch.Tensor], networks: dict[str, nn.Module] | None = None
    ) -> torch.Tensor:
        return self.translate(inputs["a"], networks).float().cpu()

    @torch.no_grad()
    def visuals(
        self, inputs: dict[str, torch.Tensor], networks: dict[str, nn.Module] | None = None
    ) -> dict[str, torch.Tensor]:
        panels = {"input": inputs["a"], "output": self.generate(inputs, networks)}
        if "b" in inputs and self.paired:  # an unpaired b is no target of this a
            panels["target"] = inputs["b"]
        return panels


class _UNetTranslator(Translator):
    """pix2pix and the autoencoder: the U-Net generator on aligned pairs."""

    config_class: ClassVar[type[ModelConfig]] = UNetConfig
    ema_networks = ("G",)

    @classmethod
    def size_factor(cls, config: ModelConfig, size: int) -> tuple[int, str]:
        assert isinstance(config, UNetConfig)
        return 2 ** unet_depth(config.depth, size), "the U-Net"

    def __init__(self, config: UNetConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        self.config: UNetConfig = config
        depth = unet_depth(config.depth, info.height)
        self.networks = {
            "G": UNetGenerator(
                info.channels, info.channels, config.width, depth, config.norm, config.dropout
            )
        }


class Pix2Pix(_UNetTranslator):
    """pix2pix: a U-Net generator against a conditional PatchGAN, GAN loss + L1 × 100."""

    name = "pix2pix"
    config_class = Pix2PixConfig

    def __init__(self, config: Pix2PixConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        self.config: Pix2PixConfig = config
        # the discriminator sees input and output together (a conditional GAN)
        self.networks["D"] = PatchDiscriminator(
            2 * info.channels, config.d_width, config.d_layers, config.norm
        )

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self._adam("G"), "D": self._adam("D")}

    def training_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        G, D = self.networks["G"], self.networks["D"]
        self._set_lr(step)
        a, b = batch["a"].to(self.device), batch["b"].to(self.device)
        fake = G(a)
        # D: real pairs → 1, fake pairs → 0 (halved, as the reference, to slow D down)
        real_logits = D(torch.cat([a, b], 1))
        fake_logits = D(torch.cat([a, fake.detach()], 1))
        d_loss = 0.5 * (
            F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        )
        self.zero_grad([self.optimizers["D"]])
        d_loss.backward()
        self.optimizer_step("D")
        # G: fool D and stay near the target
        logits = D(torch.cat([a, fake], 1))
        adv = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
        l1 = (fake - b).abs().mean()
        g_loss = adv + self.config.l1_weight * l1
        self.zero_grad(self.optimizers.values())
        g_loss.backward()
        self.optimizer_step("G")
        return {"g_adv": adv.detach(), "l1": l1.detach(), "d_loss": d_loss.detach()}


class Autoencoder(_UNetTranslator):
    """U-Net autoencoder: the pix2pix generator trained on L1 or MSE alone (the baseline)."""

    name = "autoencoder"
    config_class = AutoencoderConfig

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self._adam("G")}

    def training_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        self._set_lr(step)
        a, b = batch["a"].to(self.device), batch["b"].to(self.device)
        fake = self.networks["G"](a)
        if self.config.loss == "mse":
            loss = F.mse_loss(fake, b)
        else:
            loss = (fake - b).abs().mean()
        self.zero_grad(self.optimizers.values())
        loss.backward()
        self.optimizer_step("G")
        return {self.config.loss: loss.detach()}


TRANSLATION_MODELS: tuple[type[Model], ...] = (Pix2Pix, Autoencoder)
