"""A test-only model that is nothing like the DCGAN, to prove the trainer's contract.

RGB images from an image folder (read by DataLoader workers when asked), two generators
(A→B and B→A) and two discriminators under two optimizers, an image pool kept as extra
checkpoint state, a parameter clamped to [0, 1] after each generator step (U-GAT-IT's ρ),
random batches (each A image is paired with a B image picked at random, and flipped at
random), and a visual sheet of named panels. It is registered only by the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from hangulgan.errors import ConfigError
from hangulgan.train.contract import Capability, DataInfo, Model
from hangulgan.train.options import ModelConfig, option


def make_image_folder(folder: Path, n: int = 12, size: int = 8) -> Path:
    """``n`` random RGB PNGs of ``size``² pixels."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    for i in range(n):
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        Image.fromarray(pixels, mode="RGB").save(folder / f"img{i:03d}.png")
    return folder


@dataclass
class FolderDataConfig:
    """Where the images are."""

    images: str | None = option(None, "Folder of RGB PNG images.")
    workers: int = option(0, "DataLoader worker processes that read the images.")


class FolderImages:
    """RGB PNGs of one folder; a batch pairs image i (``a``) with a random one (``b``)."""

    channels = 3
    ink = False
    batch_keys = ("a", "b")

    def __init__(self, data: FolderDataConfig) -> None:
        if not data.images:
            raise ConfigError("no image folder given (--images FOLDER)")
        self.paths = sorted(Path(data.images).glob("*.png"))
        if not self.paths:
            raise ConfigError(f"{data.images}: holds no PNG image")
        first = Image.open(self.paths[0])
        self.size = (first.height, first.width)
        self.face_names = ["photos"]
        self.codepoints = np.zeros(len(self.paths), dtype=np.int64)
        self.loader_workers = data.workers

    def __len__(self) -> int:
        return len(self.paths)

    def _read(self, index: int) -> torch.Tensor:
        pixels = np.asarray(Image.open(self.paths[index]).convert("RGB"), dtype=np.float32)
        return torch.from_numpy(pixels).permute(2, 0, 1) / 127.5 - 1.0

    def get_batch(self, indices: np.ndarray, seed: int | None = None) -> dict[str, torch.Tensor]:
        generator = torch.Generator().manual_seed(0 if seed is None else seed)
        partners = torch.randint(len(self.paths), (len(indices),), generator=generator)
        a = torch.stack([self._read(int(i)) for i in indices])
        b = torch.stack([self._read(int(i)) for i in partners])
        flip = torch.rand(len(indices)) < 0.5  # torch's global generator, seeded by the trainer
        b[flip] = b[flip].flip(-1)
        return {"a": a, "b": b}


@dataclass
class ToyConfig(ModelConfig):
    """Options of the toy translator."""

    lr: float = option(2e-3, "Adam learning rate.")
    pool_size: int = option(4, "Fakes kept in the image pool.")
    cycle_weight: float = option(10.0, "Weight of the cycle loss.")


class Translator(nn.Module):
    """A 3→3 colour map with an AdaLIN-like mix weight ρ that must stay in [0, 1]."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.rho = nn.Parameter(torch.ones(1))  # at the bound: a step up must be clipped

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mixed = self.rho * self.conv(x) + (1 - self.rho) * x
        return torch.tanh(mixed)


class Critic(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.out = nn.Conv2d(4, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(F.leaky_relu(self.conv(x), 0.2))


class ToyTranslator(Model):
    """A toy unpaired translator (tests only)."""

    name = "toy-translator"
    config_class = ToyConfig
    data_config_class = FolderDataConfig
    ema_networks = ("G_ab",)
    samples_need_data = True

    def __init__(self, config: ToyConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        self.config: ToyConfig = config
        self.networks = {
            "G_ab": Translator(),
            "G_ba": Translator(),
            "D_a": Critic(),
            "D_b": Critic(),
        }
        self.pool = torch.zeros(config.pool_size, info.channels, info.height, info.width)
        self.pool_count = 0

    @classmethod
    def make_dataset(cls, data: FolderDataConfig, config: ToyConfig) -> FolderImages:
        return FolderImages(data)

    @classmethod
    def capabilities(cls, config: ToyConfig) -> frozenset[Capability]:
        return frozenset({Capability.GRID, Capability.TRANSLATE})

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        n = self.networks
        g_params = [*n["G_ab"].parameters(), *n["G_ba"].parameters()]
        d_params = [*n["D_a"].parameters(), *n["D_b"].parameters()]
        return {
            "G": torch.optim.Adam(g_params, lr=self.config.lr, betas=(0.5, 0.999)),
            "D": torch.optim.Adam(d_params, lr=self.config.lr, betas=(0.5, 0.999)),
        }

    def _query_pool(self, fakes: torch.Tensor) -> torch.Tensor:
        """CycleGAN's image pool: half the time a fake is swapped for an older one."""
        out = []
        for fake in fakes.detach():
            if self.pool_count < len(self.pool):
                self.pool[self.pool_count] = fake
                self.pool_count += 1
                out.append(fake)
            elif torch.rand(()) < 0.5:
                slot = int(torch.randint(len(self.pool), ()))
                out.append(self.pool[slot].clone())
                self.pool[slot] = fake
            else:
                out.append(fake)
        return torch.stack(out)

    def training_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        n = self.networks
        a, b = batch["a"].to(self.device), batch["b"].to(self.device)
        fake_b = n["G_ab"](a)
        fake_a = n["G_ba"](b)
        adv = n["D_b"](fake_b).sub(1).pow(2).mean() + n["D_a"](fake_a).sub(1).pow(2).mean()
        cycle = (n["G_ba"](fake_b) - a).abs().mean() + (n["G_ab"](fake_a) - b).abs().mean()
        g_loss = adv + self.config.cycle_weight * cycle
        self.zero_grad(self.optimizers.values())
        g_loss.backward()
        self.optimizer_step("G")
        with torch.no_grad():  # U-GAT-IT's ρ clipping after each generator step
            for name in ("G_ab", "G_ba"):
                n[name].rho.clamp_(0.0, 1.0)
        pooled = self._query_pool(fake_b)
        d_loss = (
            n["D_b"](b).sub(1).pow(2).mean()
            + n["D_b"](pooled).pow(2).mean()
            + n["D_a"](a).sub(1).pow(2).mean()
            + n["D_a"](fake_a.detach()).pow(2).mean()
        )
        self.zero_grad([self.optimizers["D"]])
        d_loss.backward()
        self.optimizer_step("D")
        return {"g_loss": g_loss.detach(), "d_loss": d_loss.detach(), "cycle": cycle.detach()}

    def extra_state(self) -> dict[str, Any]:
        return {"pool": self.pool.clone(), "pool_count": self.pool_count}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.pool = state["pool"].clone()
        self.pool_count = int(state["pool_count"])

    def grid_inputs(
        self, n: int, generator: torch.Generator, real: dict[str, torch.Tensor] | None = None
    ) -> dict[str, torch.Tensor]:
        if real is None:
            raise ConfigError("the toy translator draws from a fixed batch of real images")
        return {"a": real["a"][:n]}

    @torch.no_grad()
    def generate(
        self, inputs: dict[str, torch.Tensor], networks: dict[str, nn.Module] | None = None
    ) -> torch.Tensor:
        G = (networks or {}).get("G_ab", self.networks["G_ab"])
        return G(inputs["a"].to(self.device)).float().cpu()

    @torch.no_grad()
    def visuals(
        self, inputs: dict[str, torch.Tensor], networks: dict[str, nn.Module] | None = None
    ) -> dict[str, torch.Tensor]:
        translated = self.generate(inputs, networks)
        cycled = self.networks["G_ba"](translated.to(self.device)).float().cpu()
        return {"source": inputs["a"], "translated": translated, "cycled": cycled}
