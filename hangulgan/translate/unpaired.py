"""The unpaired translation models: CycleGAN and U-GAT-IT, on the shared trainer.

Both learn A → B and B → A from unaligned domains (two generators, two discriminator
sets) with a cycle loss and an identity loss. Written after the papers (Zhu et al. 2017;
Kim et al. 2020) and the layer recipes of the reference code (junyanz/pytorch-CycleGAN-
and-pix2pix, znxlwm/UGATIT-pytorch). Unlike the references, a checkpoint keeps both
optimizers and (CycleGAN) the image pools, so a resumed run continues exactly.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

from hangulgan.errors import CheckpointError, ConfigError
from hangulgan.train.contract import DataInfo
from hangulgan.train.options import ModelConfig
from hangulgan.translate.config import CycleGANConfig, UGATITConfig
from hangulgan.translate.models import Translator
from hangulgan.translate.networks import PatchDiscriminator, norm_layer

# ------------------------------------------------------------------------------ CycleGAN


class ResnetBlock(nn.Module):
    """Two reflect-padded 3×3 convolutions with a residual connection."""

    def __init__(self, channels: int, norm: str, dropout: bool = False) -> None:
        super().__init__()
        bias = norm == "instance"
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm_layer(norm, channels),
            nn.ReLU(True),
        ]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm_layer(norm, channels),
        ]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """CycleGAN's generator: 7×7 stem, two stride-2 down-samplings, ``blocks`` residual
    blocks, two transposed-convolution up-samplings, 7×7 head (side divisible by 4)."""

    def __init__(
        self, in_channels: int, out_channels: int, width: int = 64, blocks: int = 9,
        norm: str = "instance", dropout: bool = False,
    ) -> None:  # fmt: skip
        super().__init__()
        bias = norm == "instance"
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, width, 7, bias=bias),
            norm_layer(norm, width),
            nn.ReLU(True),
        ]
        for mult in (1, 2):
            layers += [
                nn.Conv2d(width * mult, width * mult * 2, 3, 2, 1, bias=bias),
                norm_layer(norm, width * mult * 2),
                nn.ReLU(True),
            ]
        layers += [ResnetBlock(width * 4, norm, dropout) for _ in range(blocks)]
        for mult in (4, 2):
            layers += [
                nn.ConvTranspose2d(width * mult, width * mult // 2, 3, 2, 1, 1, bias=bias),
                norm_layer(norm, width * mult // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class ImagePool:
    """CycleGAN's history of generated images: once full, each new fake is swapped, half
    of the time, for a random older one (torch's global generator, which the trainer seeds
    per step). ``size`` 0 passes fakes through."""

    def __init__(self, size: int, shape: tuple[int, int, int]) -> None:
        self.images = torch.zeros(size, *shape)
        self.count = 0

    def query(self, fakes: torch.Tensor) -> torch.Tensor:
        if len(self.images) == 0:
            return fakes.detach()
        out = []
        for fake in fakes.detach():
            if self.count < len(self.images):
                self.images[self.count] = fake.cpu()
                self.count += 1
                out.append(fake)
            elif torch.rand(()) < 0.5:
                slot = int(torch.randint(len(self.images), ()))
                out.append(self.images[slot].to(fake.device, fake.dtype).clone())
                self.images[slot] = fake.cpu()
            else:
                out.append(fake)
        return torch.stack(out)


def lsgan(logits: torch.Tensor, target: float) -> torch.Tensor:
    """Least-squares GAN loss of ``logits`` against a constant target."""
    return (logits - target).pow(2).mean()


class CycleGAN(Translator):
    """CycleGAN: two ResNet generators and two PatchGANs, LSGAN, cycle and identity losses."""

    name = "cyclegan"
    config_class = CycleGANConfig
    paired = False
    generator_name = "G_ab"
    ema_networks = ("G_ab", "G_ba")

    @classmethod
    def size_factor(cls, config: ModelConfig, size: int) -> tuple[int, str]:
        return 4, "the ResNet generator's two down-samplings"

    def __init__(self, config: CycleGANConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        self.config: CycleGANConfig = config
        c = info.channels

        def generator() -> ResnetGenerator:
            return ResnetGenerator(c, c, config.width, config.blocks, config.norm, config.dropout)

        def critic() -> PatchDiscriminator:
            return PatchDiscriminator(c, config.d_width, config.d_layers, config.norm)

        self.networks = {"G_ab": generator(), "G_ba": generator(), "D_a": critic(), "D_b": critic()}
        shape = (c, info.height, info.width)
        self.pools = {
            "a": ImagePool(config.pool_size, shape),
            "b": ImagePool(config.pool_size, shape),
        }

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self._adam("G_ab", "G_ba"), "D": self._adam("D_a", "D_b")}

    def training_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        n, cfg = self.networks, self.config
        self._set_lr(step)
        a, b = batch["a"].to(self.device), batch["b"].to(self.device)
        fake_b, fake_a = n["G_ab"](a), n["G_ba"](b)
        # generators (the discriminators' gradients are cleared before their own step)
        adv = lsgan(n["D_b"](fake_b), 1.0) + lsgan(n["D_a"](fake_a), 1.0)
        cycle = (n["G_ba"](fake_b) - a).abs().mean() + (n["G_ab"](fake_a) - b).abs().mean()
        g_loss = adv + cfg.cycle_weight * cycle
        identity = torch.zeros((), device=self.device)
        if cfg.identity_weight > 0:
            identity = (n["G_ab"](b) - b).abs().mean() + (n["G_ba"](a) - a).abs().mean()
            g_loss = g_loss + cfg.cycle_weight * cfg.identity_weight * identity
        self.zero_grad(self.optimizers.values())
        g_loss.backward()
        self.optimizer_step("G")
        # discriminators: real → 1, a fake from the history pool → 0, halved
        old_b, old_a = self.pools["b"].query(fake_b), self.pools["a"].query(fake_a)
        d_loss = 0.5 * (lsgan(n["D_b"](b), 1.0) + lsgan(n["D_b"](old_b), 0.0)) + 0.5 * (
            lsgan(n["D_a"](a), 1.0) + lsgan(n["D_a"](old_a), 0.0)
        )
        self.zero_grad([self.optimizers["D"]])
        d_loss.backward()
        self.optimizer_step("D")
        return {
            "g_adv": adv.detach(),
            "cycle": cycle.detach(),
            "identity": identity.detach(),
            "d_loss": d_loss.detach(),
        }

    def extra_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {}
        for name, pool in self.pools.items():
            state[f"pool_{name}"] = pool.images.clone()
            state[f"pool_{name}_count"] = pool.count
        return state

    def load_extra_state(self, state: dict[str, Any]) -> None:
        for name, pool in self.pools.items():
            images = state.get(f"pool_{name}")
            if images is None or tuple(images.shape) != tuple(pool.images.shape):
                raise CheckpointError(
                    f"{self.name}: the checkpoint's image pool {name} is missing or of "
                    "another shape"
                )
            pool.images = images.clone()
            pool.count = int(state[f"pool_{name}_count"])

    @torch.no_grad()
    def visuals(
        self, inputs: dict[str, torch.Tensor], networks: dict[str, nn.Module] | None = None
    ) -> dict[str, torch.Tensor]:
        translated = self.generate(inputs, networks)
        G_ba = (networks or {}).get("G_ba", self.networks["G_ba"])
        cycled = G_ba(translated.to(self.device)).float().cpu()
        return {"input": inputs["a"], "output": translated, "cycled": cycled}


# ------------------------------------------------------------------------------ U-GAT-IT


def _mix_norms(x: torch.Tensor, rho: torch.Tensor, eps: float) -> torch.Tensor:
    """ρ·instance-norm(x) + (1-ρ)·layer-norm(x), U-GAT-IT's (Ada)ILN before its affine."""
    in_mean, in_var = x.mean((2, 3), keepdim=True), x.var((2, 3), keepdim=True)
    ln_mean, ln_var = x.mean((1, 2, 3), keepdim=True), x.var((1, 2, 3), keepdim=True)
    out_in = (x - in_mean) / torch.sqrt(in_var + eps)
    out_ln = (x - ln_mean) / torch.sqrt(ln_var + eps)
    return rho * out_in + (1 - rho) * out_ln


class AdaLIN(nn.Module):
    """Adaptive layer-instance norm: γ and β come from the attention features."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.rho = nn.Parameter(torch.full((1, channels, 1, 1), 0.9))

    def forward(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        out = _mix_norms(x, self.rho, self.eps)
        return out * gamma[:, :, None, None] + beta[:, :, None, None]


class LIN(nn.Module):
    """Layer-instance norm with learned γ, β (the up-sampling path)."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.rho = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.gamma = nn.Parameter(torch.ones(1, channels, 1, 1))
        self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _mix_norms(x, self.rho, self.eps) * self.gamma + self.beta


class AdaLINBlock(nn.Module):
    """A residual block whose two norms are AdaLIN."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=False)
        )
        self.norm1 = AdaLIN(channels)
        self.conv2 = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=False)
        )
        self.norm2 = AdaLIN(channels)

    def forward(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.norm1(self.conv1(x), gamma, beta))
        return x + self.norm2(self.conv2(out), gamma, beta)


class CAM(nn.Module):
    """Class activation map attention: GAP and GMP branches weigh the channels by a linear
    domain classifier's weights; returns the re-weighted features, the two logits and the
    attention heatmap (channel sum)."""

    def __init__(self, channels: int, spectral: bool = False, slope: float = 0.0) -> None:
        super().__init__()
        wrap = spectral_norm if spectral else (lambda m: m)
        self.gap_fc = wrap(nn.Linear(channels, 1, bias=False))
        self.gmp_fc = wrap(nn.Linear(channels, 1, bias=False))
        self.conv1x1 = nn.Conv2d(2 * channels, channels, 1)
        self.slope = slope

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        gap_logit = self.gap_fc(F.adaptive_avg_pool2d(x, 1).flatten(1))
        gmp_logit = self.gmp_fc(F.adaptive_max_pool2d(x, 1).flatten(1))
        gap = x * self.gap_fc.weight[0][None, :, None, None]  # the (normalised) class weights
        gmp = x * self.gmp_fc.weight[0][None, :, None, None]
        out = F.leaky_relu(self.conv1x1(torch.cat([gap, gmp], 1)), self.slope)
        heatmap = out.sum(1, keepdim=True)
        return out, torch.cat([gap_logit, gmp_logit], 1), heatmap


class UGATITGenerator(nn.Module):
    """Encoder (two down-samplings, residual blocks), CAM attention, γ/β from an MLP
    (light: on the pooled features, full: on the whole map), AdaLIN residual blocks, and an
    up-sampling decoder with LIN. Returns (image, CAM logits, heatmap)."""

    def __init__(
        self, in_channels: int, out_channels: int, width: int, blocks: int, size: int,
        light: bool,
    ) -> None:  # fmt: skip
        super().__init__()
        deep = width * 4
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, width, 7, bias=False),
            nn.InstanceNorm2d(width),
            nn.ReLU(True),
        ]
        for mult in (1, 2):
            layers += [
                nn.ReflectionPad2d(1),
                nn.Conv2d(width * mult, width * mult * 2, 3, 2, bias=False),
                nn.InstanceNorm2d(width * mult * 2),
                nn.ReLU(True),
            ]
        layers += [ResnetBlock(deep, "instance") for _ in range(blocks)]
        self.encoder = nn.Sequential(*layers)
        self.cam = CAM(deep)
        self.light = light
        mlp_in = deep if light else (size // 4) ** 2 * deep
        self.mlp = nn.Sequential(
            nn.Linear(mlp_in, deep, bias=False), nn.ReLU(True),
            nn.Linear(deep, deep, bias=False), nn.ReLU(True),
        )  # fmt: skip
        self.gamma = nn.Linear(deep, deep, bias=False)
        self.beta = nn.Linear(deep, deep, bias=False)
        self.blocks = nn.ModuleList(AdaLINBlock(deep) for _ in range(blocks))
        up: list[nn.Module] = []
        for mult in (4, 2):
            up += [
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.ReflectionPad2d(1),
                nn.Conv2d(width * mult, width * mult // 2, 3, bias=False),
                LIN(width * mult // 2),
                nn.ReLU(True),
            ]
        up += [nn.ReflectionPad2d(3), nn.Conv2d(width, out_channels, 7, bias=False), nn.Tanh()]
        self.decoder = nn.Sequential(*up)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x, cam_logit, heatmap = self.cam(self.encoder(x))
        pooled = F.adaptive_avg_pool2d(x, 1).flatten(1) if self.light else x.flatten(1)
        features = self.mlp(pooled)
        gamma, beta = self.gamma(features), self.beta(features)
        for block in self.blocks:
            x = block(x, gamma, beta)
        return self.decoder(x), cam_logit, heatmap

    def clip_rho(self) -> None:
        """Keep every (Ada)LIN's ρ in [0, 1] (after each optimizer step)."""
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, (AdaLIN, LIN)):
                    module.rho.clamp_(0.0, 1.0)


class UGATITDiscriminator(nn.Module):
    """A spectrally normalised PatchGAN with a CAM head: ``layers`` - 2 stride-2 convs (the
    global D is deeper than the local one). Returns (patch logits, CAM logits, heatmap)."""

    def __init__(self, in_channels: int, width: int, layers: int) -> None:
        super().__init__()
        convs: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            spectral_norm(nn.Conv2d(in_channels, width, 4, 2)),
            nn.LeakyReLU(0.2, True),
        ]
        for i in range(1, layers - 2):
            mult = 2 ** (i - 1)
            convs += [
                nn.ReflectionPad2d(1),
                spectral_norm(nn.Conv2d(width * mult, width * mult * 2, 4, 2)),
                nn.LeakyReLU(0.2, True),
            ]
        mult = 2 ** (layers - 3)
        convs += [
            nn.ReflectionPad2d(1),
            spectral_norm(nn.Conv2d(width * mult, width * mult * 2, 4, 1)),
            nn.LeakyReLU(0.2, True),
        ]
        self.body = nn.Sequential(*convs)
        self.cam = CAM(width * mult * 2, spectral=True, slope=0.2)
        self.head = nn.Sequential(
            nn.ReflectionPad2d(1), spectral_norm(nn.Conv2d(width * mult * 2, 1, 4, bias=False))
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x, cam_logit, heatmap = self.cam(self.body(x))
        return self.head(x), cam_logit, heatmap


class UGATIT(Translator):
    """U-GAT-IT: CAM attention and AdaLIN generators, global and local CAM discriminators."""

    name = "ugatit"
    config_class = UGATITConfig
    paired = False
    generator_name = "G_ab"
    ema_networks = ("G_ab", "G_ba")
    weight_decay = 1e-4
    _critics: ClassVar[tuple[str, ...]] = ("D_ga", "D_la", "D_gb", "D_lb")

    @classmethod
    def size_factor(cls, config: ModelConfig, size: int) -> tuple[int, str]:
        return 4, "the generator's two down-samplings"

    def __init__(self, config: UGATITConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        self.config: UGATITConfig = config
        c, size = info.channels, info.height
        for layers, which in (
            (config.global_layers, "--global-layers"),
            (config.local_layers, "--local-layers"),
        ):
            side = size // 2 ** (layers - 2)
            if side < 3:  # two 4×4 stride-1 convs follow the down-samplings
                most = max(k for k in range(3, 12) if size // 2 ** (k - 2) >= 3) if size >= 6 else 0
                raise ConfigError(
                    f"{which} {layers} shrinks {size}×{size} images to {side} pixels; "
                    f"at this size use at most {most}"
                )

        def generator() -> UGATITGenerator:
            return UGATITGenerator(c, c, config.width, config.blocks, size, config.light)

        self.networks = {
            "G_ab": generator(),
            "G_ba": generator(),
            "D_ga": UGATITDiscriminator(c, config.d_width, config.global_layers),
            "D_la": UGATITDiscriminator(c, config.d_width, config.local_layers),
            "D_gb": UGATITDiscriminator(c, config.d_width, config.global_layers),
            "D_lb": UGATITDiscriminator(c, config.d_width, config.local_layers),
        }

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self._adam("G_ab", "G_ba"), "D": self._adam(*self._critics)}

    def _adversarial(self, images: torch.Tensor, domain: str, target: float) -> torch.Tensor:
        """Patch and CAM LSGAN losses of the global and local critics of ``domain``."""
        loss = torch.zeros((), device=self.device)
        for name in (f"D_g{domain}", f"D_l{domain}"):
            logits, cam_logits, _ = self.networks[name](images)
            loss = loss + lsgan(logits, target) + lsgan(cam_logits, target)
        return loss

    def training_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        n, cfg = self.networks, self.config
        self._set_lr(step)
        a, b = batch["a"].to(self.device), batch["b"].to(self.device)
        # discriminators first, on detached fakes (as the reference)
        with torch.no_grad():
            fake_b, fake_a = n["G_ab"](a)[0], n["G_ba"](b)[0]
        d_loss = cfg.adv_weight * (
            self._adversarial(a, "a", 1.0) + self._adversarial(fake_a, "a", 0.0)
            + self._adversarial(b, "b", 1.0) + self._adversarial(fake_b, "b", 0.0)
        )  # fmt: skip
        self.zero_grad([self.optimizers["D"]])
        d_loss.backward()
        self.optimizer_step("D")
        # generators
        fake_b, cam_ab, _ = n["G_ab"](a)
        fake_a, cam_ba, _ = n["G_ba"](b)
        cycle = (n["G_ba"](fake_b)[0] - a).abs().mean() + (n["G_ab"](fake_a)[0] - b).abs().mean()
        same_a, cam_aa, _ = n["G_ba"](a)
        same_b, cam_bb, _ = n["G_ab"](b)
        identity = (same_a - a).abs().mean() + (same_b - b).abs().mean()
        bce = F.binary_cross_entropy_with_logits
        # the CAM tells a generator's own domain apart from the other: the input of a
        # translation is "other" (1), the input of an identity "own" (0)
        cam = (
            bce(cam_ba, torch.ones_like(cam_ba)) + bce(cam_aa, torch.zeros_like(cam_aa))
            + bce(cam_ab, torch.ones_like(cam_ab)) + bce(cam_bb, torch.zeros_like(cam_bb))
        )  # fmt: skip
        adv = self._adversarial(fake_a, "a", 1.0) + self._adversarial(fake_b, "b", 1.0)
        g_loss = (
            cfg.adv_weight * adv + cfg.cycle_weight * cycle
            + cfg.identity_weight * identity + cfg.cam_weight * cam
        )  # fmt: skip
        self.zero_grad(self.optimizers.values())
        g_loss.backward()
        self.optimizer_step("G")
        n["G_ab"].clip_rho()
        n["G_ba"].clip_rho()
        return {
            "g_adv": adv.detach(),
            "cycle": cycle.detach(),
            "identity": identity.detach(),
            "cam": cam.detach(),
            "d_loss": d_loss.detach(),
        }

    def translate(
        self, a: torch.Tensor, networks: dict[str, nn.Module] | None = None
    ) -> torch.Tensor:
        return super().translate(a, networks)[0]

    @torch.no_grad()
    def heatmaps(
        self, a: torch.Tensor, networks: dict[str, nn.Module] | None = None
    ) -> torch.Tensor:
        """The generator's attention for ``a``, upsampled to the image and scaled to
        [-1, 1] per image (N×1×H×W on CPU)."""
        G = (networks or {}).get("G_ab", self.networks["G_ab"])
        heat = G(a.to(self.device))[2].float()
        heat = F.interpolate(heat, size=a.shape[-2:], mode="bilinear", align_corners=False)
        low = heat.amin((1, 2, 3), keepdim=True)
        high = heat.amax((1, 2, 3), keepdim=True)
        return ((heat - low) / (high - low).clamp_min(1e-8) * 2 - 1).cpu()

    @torch.no_grad()
    def visuals(
        self, inputs: dict[str, torch.Tensor], networks: dict[str, nn.Module] | None = None
    ) -> dict[str, torch.Tensor]:
        heat = self.heatmaps(inputs["a"], networks)
        heat = heat.expand(-1, self.info.channels, -1, -1)
        return {"input": inputs["a"], "output": self.generate(inputs, networks), "attention": heat}


UNPAIRED_MODELS = (CycleGAN, UGATIT)
