"""The DCGAN of the original examples, for 1-channel glyphs, with the options a user expects.

The default network is exactly the original example's tf.keras DCGAN (32×32×1),
layer by layer: G = Dense 100→1024 → BN → LeakyReLU → Dense 8192 → BN → LeakyReLU →
reshape 8×8×128 → ConvT 128 5×5 s1 → BN → LeakyReLU → ConvT 64 5×5 s2 → BN → LeakyReLU →
ConvT 1 5×5 s2 tanh (no biases before BN); D = Conv 64 5×5 s2 → LeakyReLU 0.2 →
Dropout 0.3 → Conv 128 5×5 s2 → LeakyReLU 0.2 → Flatten → Dense 256 → LeakyReLU 0.2 →
Dropout 0.3 → Dense 1. Keras defaults are kept where the example relied on them: LeakyReLU
slope 0.3 in G, BatchNorm ε 1e-3 and momentum 0.99, Glorot-uniform kernels, Adam ε 1e-7,
NHWC order in reshape and flatten. G has 9,125,825 parameters and D 2,304,257.

Options: latent size; conditioning on the syllable (jamo embeddings of the initial, medial
and final concatenated to z in G; in D a projection head over the same jamo and an
AC-GAN-style classifier of the three jamo, whose loss on the fakes G minimises — the three
small tables generalise across the 11,172 syllables far better than one 11,172-way
one-hot); the non-saturating BCE or the hinge loss; spectral norm in D.

The training step is the original example's own algorithm: one D pass over real and fake images and
simultaneous updates of D and G from it (the tf.keras code takes both gradients from one
tape). With the BCE loss one backward pass serves both networks: each sample's logit
depends on that sample alone (D has no batch norm), so the G-loss gradient that reaches a
fake image is the D-loss gradient there times ``-exp(-logit)``; a gradient-scaling node
between G and D applies that factor. The hinge loss and the conditional model (whose jamo
classifier gives G a loss that is not a per-sample multiple of D's) take a second,
input-only backward instead.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from hangulgan import hangul
from hangulgan.errors import ConfigError
from hangulgan.models.dcgan_config import DCGANConfig
from hangulgan.models.layers import (
    FastDropout,
    FoldConvTranspose2d,
    OneChannelConv2d,
    scale_grad,
)
from hangulgan.train.contract import Capability, DataInfo, Model

# Below this logit σ(l) nears float32's smallest normal numbers (σ(−87) ≈ 1.6e−38): the
# one-pass step's gradient ratio would be lost, so that step takes G's own backward.
SATURATED_LOGIT = 50.0
JAMO_COUNTS = (hangul.N_INITIALS, hangul.N_MEDIALS, hangul.N_FINALS)


class JamoEmbedding(nn.Module):
    """Embeddings of the initial, medial and final jamo, concatenated (B×3 → B×3d)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(n, dim) for n in JAMO_COUNTS)

    def forward(self, jamo: torch.Tensor) -> torch.Tensor:
        return torch.cat([table(jamo[:, k]) for k, table in enumerate(self.tables)], dim=1)


class Generator(nn.Module):
    """The original example's generator; conditional variants concatenate jamo embeddings to z."""

    def __init__(self, config: DCGANConfig, info: DataInfo) -> None:
        super().__init__()
        self.h0, self.w0 = info.height // 4, info.width // 4
        self.embed = JamoEmbedding(config.jamo_dim) if config.conditional else None
        in_dim = config.latent_dim + (3 * config.jamo_dim if config.conditional else 0)
        bn = {"eps": 1e-3, "momentum": 0.01}  # Keras BatchNormalization defaults
        self.fc = nn.Sequential(
            nn.Linear(in_dim, 1024, bias=False),
            nn.BatchNorm1d(1024, **bn),
            nn.LeakyReLU(0.3),
            nn.Linear(1024, 128 * self.h0 * self.w0, bias=False),
            nn.BatchNorm1d(128 * self.h0 * self.w0, **bn),
            nn.LeakyReLU(0.3),
        )
        self.conv = nn.Sequential(
            nn.ConvTranspose2d(128, 128, 5, 1, 2, bias=False),
            nn.BatchNorm2d(128, **bn),
            nn.LeakyReLU(0.3),
            nn.ConvTranspose2d(128, 64, 5, 2, 2, output_padding=1, bias=False),
            nn.BatchNorm2d(64, **bn),
            nn.LeakyReLU(0.3),
            FoldConvTranspose2d(64, info.channels, 5, 2, 2, output_padding=1),
            nn.Tanh(),
        )
        _glorot(self)

    def forward(self, z: torch.Tensor, jamo: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            if jamo is None:
                raise ValueError("a conditional generator needs the jamo of each sample")
            z = torch.cat([z, self.embed(jamo)], dim=1)
        # Keras reshapes to H×W×C: the NHWC view permuted to NCHW is channels-last in memory.
        x = self.fc(z).view(-1, self.h0, self.w0, 128).permute(0, 3, 1, 2)
        return self.conv(x)


class Discriminator(nn.Module):
    """The original example's discriminator; conditional variants add a projection over the jamo."""

    def __init__(self, config: DCGANConfig, info: DataInfo) -> None:
        super().__init__()
        wrap = spectral_norm if config.spectral_norm else (lambda module: module)
        self.conv1 = OneChannelConv2d(info.channels, 64, 5, 2, 2)
        self.conv2 = nn.Conv2d(64, 128, 5, 2, 2)
        self.fc = nn.Linear(128 * (info.height // 4) * (info.width // 4), 256)
        self.out = nn.Linear(256, 1)
        self.drop1 = FastDropout(config.dropout)
        self.drop2 = FastDropout(config.dropout)
        self.project = (
            nn.ModuleList(nn.Embedding(n, 256) for n in JAMO_COUNTS) if config.conditional else None
        )
        # conditional: a classifier of the initial, medial and final jamo (AC-GAN heads)
        use_classifier = config.conditional and config.aux_weight > 0
        self.classify = nn.Linear(256, sum(JAMO_COUNTS)) if use_classifier else None
        _glorot(self)
        if self.project is not None:
            for table in self.project:
                nn.init.normal_(table.weight, std=0.02)
        for name in ("conv1", "conv2", "fc", "out"):
            setattr(self, name, wrap(getattr(self, name)))

    def forward(self, x: torch.Tensor, jamo: torch.Tensor | None = None) -> torch.Tensor:
        """Logits, one per image (shape B)."""
        return self.forward_with_classes(x, jamo)[0]

    def forward_with_classes(
        self, x: torch.Tensor, jamo: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Real/fake logits (B) and, when conditional, jamo class logits (B × 19+21+28)."""
        x = self.drop1(F.leaky_relu(self.conv1(x), 0.2))
        x = F.leaky_relu(self.conv2(x), 0.2)
        x = x.permute(0, 2, 3, 1).flatten(1)  # Keras Flatten over NHWC
        h = self.drop2(F.leaky_relu(self.fc(x), 0.2))
        logits = self.out(h).squeeze(1)
        if self.project is None:
            return logits, None
        if jamo is None:
            raise ValueError("a conditional discriminator needs the jamo of each sample")
        embedded = sum(table(jamo[:, k]) for k, table in enumerate(self.project))
        logits = logits + (embedded * h).sum(dim=1)
        return logits, None if self.classify is None else self.classify(h)


def _glorot(module: nn.Module) -> None:
    """Keras initialisation: Glorot-uniform kernels, zero biases."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


class DCGAN(Model):
    """The original DCGAN example, optionally class-conditional on the syllable's jamo."""

    name = "dcgan"
    config_class = DCGANConfig
    ema_networks = ("G",)
    one_pass = True  # the BCE step's shared backward (False: the textbook two backwards)

    def __init__(self, config: DCGANConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        config.validate()
        if info.height % 4 or info.width % 4 or info.height < 4 or info.width < 4:
            raise ConfigError(
                f"image size {info.height}×{info.width}: the DCGAN needs sides divisible by 4"
            )
        self.config: DCGANConfig = config
        self.G = Generator(config, info)
        self.D = Discriminator(config, info)
        self.networks = {"G": self.G, "D": self.D}
        if config.channels_last:
            self.memory_format = torch.channels_last
            for net in self.networks.values():
                net.to(memory_format=self.memory_format)  # later moves keep the layout

    @classmethod
    def capabilities(cls, config: DCGANConfig) -> frozenset[Capability]:
        """Grids always; given syllables and glyph sets when conditional."""
        if config.conditional:
            return frozenset({Capability.GRID, Capability.SYLLABLES, Capability.GLYPH_SET})
        return frozenset({Capability.GRID})

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Adam for G and D (fused: one kernel for all tensors on CPU and CUDA)."""
        c = self.config
        kwargs = {"lr": c.lr, "betas": (c.beta1, c.beta2), "eps": c.adam_eps}
        return {
            name: torch.optim.Adam(self.networks[name].parameters(), **kwargs, **_fused())
            for name in ("G", "D")
        }

    # ---------------------------------------------------------------------------- training
    def training_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        """One simultaneous D and G update from a single D pass over real and fake images."""
        real = batch["image"].to(self.device, non_blocking=True)
        real = real.contiguous(memory_format=self.memory_format)
        n = real.shape[0]
        jamo = batch["jamo"].to(self.device, non_blocking=True) if self.config.conditional else None
        z = torch.randn(n, self.config.latent_dim, device=self.device)
        fake = self.G(z, jamo)
        both_jamo = None if jamo is None else torch.cat([jamo, jamo])
        self.zero_grad(self.optimizers.values())
        extra: dict[str, torch.Tensor] = {}
        if self.config.loss == "bce" and not self.config.conditional and self.one_pass:
            holder: list[torch.Tensor] = []
            logits = self.D(torch.cat([real, scale_grad(fake, holder)]), both_jamo).float()
            l_real, l_fake = logits[:n], logits[n:]
            d_loss = F.softplus(-l_real).mean() + F.softplus(l_fake).mean()
            g_loss = F.softplus(-l_fake).mean()
            if bool(l_fake.detach().min() < -SATURATED_LOGIT):
                # D rejects some fake so surely that σ(l), the D-loss gradient the factor
                # below rescales, underflows to 0 and G would get no gradient: D's backward
                # leaves G alone (factor 0) and G's loss takes its own backward
                holder.append(torch.zeros_like(l_fake))
                d_loss.backward(retain_graph=True)
                holder[0] = torch.ones_like(l_fake)
                torch.autograd.backward(g_loss, inputs=list(self.G.parameters()))
            else:
                # dL_G/dl ÷ dL_D/dl per fake sample: −σ(−l)/σ(l) = −exp(−l)
                holder.append(-torch.exp(-l_fake.detach()))
                d_loss.backward()
            g_loss = g_loss.detach()
        else:
            logits, classes = self.D.forward_with_classes(torch.cat([real, fake]), both_jamo)
            logits = logits.float()
            l_real, l_fake = logits[:n], logits[n:]
            if self.config.loss == "bce":
                d_loss = F.softplus(-l_real).mean() + F.softplus(l_fake).mean()
                g_loss = F.softplus(-l_fake).mean()
            else:
                d_loss = F.relu(1.0 - l_real).mean() + F.relu(1.0 + l_fake).mean()
                g_loss = -l_fake.mean()
            if classes is not None and self.config.aux_weight > 0:
                # D learns to tell the jamo of real glyphs; G is asked to draw fakes whose
                # jamo it tells right (the AC-GAN signal that makes the syllable stick)
                aux_real = _jamo_loss(classes[:n].float(), jamo)
                aux_fake = _jamo_loss(classes[n:].float(), jamo)
                d_loss = d_loss + self.config.aux_weight * aux_real
                g_loss = g_loss + self.config.aux_weight * aux_fake
                extra = {"aux_real": aux_real.detach(), "aux_fake": aux_fake.detach()}
            torch.autograd.backward(d_loss, inputs=list(self.D.parameters()), retain_graph=True)
            torch.autograd.backward(g_loss, inputs=list(self.G.parameters()))
            g_loss = g_loss.detach()
        self.optimizer_step("D")
        self.optimizer_step("G")
        with torch.no_grad():
            return {
                "d_loss": d_loss.detach(),
                "g_loss": g_loss,
                "p_real": torch.sigmoid(l_real.detach()).mean(),
                "p_fake": torch.sigmoid(l_fake.detach()).mean(),
            } | extra

    # ---------------------------------------------------------------------------- sampling
    def grid_inputs(
        self,
        n: int,
        generator: torch.Generator,
        real: dict[str, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Fixed noise (and, when conditional, the syllables of ``info.grid_syllables``)."""
        inputs = {"z": torch.randn(n, self.config.latent_dim, generator=generator)}
        if self.config.conditional:
            pool = list(self.info.grid_syllables) or hangul.charset_from_text(hangul.SEED_SYLLABLES)
            chosen = [pool[i % len(pool)] for i in range(n)]
            inputs["jamo"] = torch.from_numpy(hangul.jamo_table(chosen))
        return inputs

    def sample_inputs(
        self,
        n: int,
        generator: torch.Generator,
        syllables: list[int] | None = None,
        shared_noise: bool = False,
        real: dict[str, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Inputs for ``n`` samples; conditional models draw ``syllables`` (cycled)."""
        if shared_noise:
            z = torch.randn(1, self.config.latent_dim, generator=generator).expand(n, -1)
        else:
            z = torch.randn(n, self.config.latent_dim, generator=generator)
        inputs = {"z": z.contiguous()}
        if self.config.conditional:
            if not syllables:
                return self.grid_inputs(n, generator) | {"z": inputs["z"]}
            chosen = [syllables[i % len(syllables)] for i in range(n)]
            inputs["jamo"] = torch.from_numpy(hangul.jamo_table(chosen))
        return inputs

    @torch.no_grad()
    def standing_generator(
        self,
        G: nn.Module | None = None,
        samples: int | None = None,
        batch: int = 512,
        seed: int = 0,
    ) -> Generator:
        """A copy of G whose batch-norm statistics are re-measured on its current weights.

        During training the running statistics trail weights that keep moving (Keras'
        momentum 0.99 averages ~100 steps), and an eval-mode G fed with them draws
        washed-out, near-identical glyphs. Like BigGAN's "standing statistics", the copy
        runs ``samples`` random inputs (z, and syllables of the training set; default
        ``config.standing_samples``) through G in
        training mode with a cumulative average, then samples in eval mode. The networks
        being trained are not touched, nor is any global RNG.
        """
        G = copy.deepcopy(G if G is not None else self.G)
        samples = self.config.standing_samples if samples is None else samples
        norms = [m for m in G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if not norms or samples == 0:  # 0: sample with the running statistics
            return G.eval()
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None  # cumulative moving average over the calibration batches
        generator = torch.Generator().manual_seed(seed)
        pool = torch.tensor(
            [ord(c) for c in self.info.syllables] or hangul.all_syllables(), dtype=torch.int64
        )
        G.train()
        for start in range(0, samples, batch):
            n = min(batch, samples - start)
            z = torch.randn(n, self.config.latent_dim, generator=generator).to(self.device)
            jamo = None
            if self.config.conditional:
                picks = pool[torch.randint(len(pool), (n,), generator=generator)]
                jamo = torch.from_numpy(hangul.jamo_table(picks.numpy())).to(self.device)
            G(z, jamo)
        return G.eval()

    @torch.no_grad()
    def generate(
        self, inputs: dict[str, torch.Tensor], networks: dict[str, nn.Module] | None = None
    ) -> torch.Tensor:
        """Images N×C×H×W in [-1, 1] on CPU; ``networks["G"]`` may be an EMA copy.

        Sampling uses a copy of G with standing batch-norm statistics
        (:meth:`standing_generator`), so the output for one input does not depend on the
        other inputs of the call.
        """
        G = self.standing_generator((networks or {}).get("G", self.G))
        out = []
        z_all, jamo_all = inputs["z"], inputs.get("jamo")
        for start in range(0, len(z_all), 1024):
            z = z_all[start : start + 1024].to(self.device)
            jamo = None if jamo_all is None else jamo_all[start : start + 1024].to(self.device)
            out.append(G(z, jamo).float().cpu().contiguous())
        return torch.cat(out) if out else torch.empty(0, self.info.channels, 1, 1)


def _jamo_loss(classes: torch.Tensor, jamo: torch.Tensor) -> torch.Tensor:
    """Sum of the cross-entropies of the initial, medial and final jamo heads."""
    total = classes.new_zeros(())
    for k, part in enumerate(torch.split(classes, JAMO_COUNTS, dim=1)):
        total = total + F.cross_entropy(part, jamo[:, k])
    return total


def _fused() -> dict[str, bool]:
    """``fused=True`` for Adam (one kernel for all tensors on CPU and CUDA)."""
    return {"fused": True}
