"""The translation models: training images/s at 64×64 on CPU and peak memory.

    python benchmarks/bench_translate.py [--steps N] [--size 64] [--batch 4]

Each model at its default widths (U-GAT-IT in light mode, its critics as deep as 64×64
allows; CycleGAN with 6 blocks, the reference's choice below 256²) takes ``--steps`` timed
training steps on random 3-channel pairs after one warm-up step, float32, one thread.
U-GAT-IT light runs first so that the process' peak resident memory is its own; the target
is the issue's: it must train on CPU at 64×64 within 8 GiB. Exits 1 on a miss. With CUDA,
every model is timed again at 256×256 (U-GAT-IT full mode included), with its peak GPU
memory.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import torch
from report import Report

from hangulgan.train.contract import DataInfo
from hangulgan.translate.config import (
    AutoencoderConfig,
    CycleGANConfig,
    Pix2PixConfig,
    UGATITConfig,
)
from hangulgan.translate.models import Autoencoder, Pix2Pix
from hangulgan.translate.unpaired import UGATIT, CycleGAN

LIMIT_GIB = 8.0


def models(size: int, light: bool = True):
    layers = max(k for k in range(3, 8) if size // 2 ** (k - 2) >= 3)
    return [
        ("ugatit" + (" light" if light else " full"),
         UGATIT, UGATITConfig(light=light, global_layers=layers, local_layers=layers - 2)),
        ("pix2pix", Pix2Pix, Pix2PixConfig()),
        ("autoencoder", Autoencoder, AutoencoderConfig()),
        ("cyclegan", CycleGAN, CycleGANConfig(blocks=6 if size < 256 else 9)),
    ]  # fmt: skip


def rate(cls, config, size: int, batch: int, steps: int, device: str) -> float:
    info = DataInfo(height=size, width=size, channels=3, ink=False)
    model = cls(config, info).to(device)
    data = {
        "a": torch.rand(batch, 3, size, size, device=device) * 2 - 1,
        "b": torch.rand(batch, 3, size, size, device=device) * 2 - 1,
    }
    model.training_step(data, 0)
    if device != "cpu":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for step in range(steps):
        model.training_step(data, step + 1)
    if device != "cpu":
        torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    report = Report("translate")
    for i, (label, cls, config) in enumerate(models(args.size)):
        images_per_s = rate(cls, config, args.size, args.batch, args.steps, "cpu")
        where = f"{label}, {args.size}×{args.size}, batch {args.batch}, 1 thread, CPU"
        report.add(f"translate train: {where}", f"{images_per_s:.1f} img/s")
        if i == 0:  # peak RSS of the process so far: U-GAT-IT light's alone
            peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
            report.add(
                f"translate train: {label} peak memory, {args.size}×{args.size} CPU",
                f"{peak_gib:.2f} GiB",
                f"≤ {LIMIT_GIB:.0f} GiB",
                peak_gib <= LIMIT_GIB,
            )
    if torch.cuda.is_available():
        for label, cls, config in models(256) + models(256, light=False)[:1]:
            torch.cuda.reset_peak_memory_stats()
            images_per_s = rate(cls, config, 256, 1, args.steps, "cuda")
            peak = torch.cuda.max_memory_allocated() / 2**30
            report.add(
                f"translate train: {label}, 256×256, batch 1, CUDA",
                f"{images_per_s:.1f} img/s, {peak:.1f} GiB peak",
            )
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
