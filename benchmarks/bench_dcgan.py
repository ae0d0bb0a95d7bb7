"""DCGAN training speed on this machine: our trainer vs the bare step vs a plain loop.

Prints images/s at batch 256 (the seeds' setting) for

* ``trainer``   – :class:`hangulgan.train.trainer.Trainer` with its logging, EMA, progress
                  bar and metrics file (steps only; the final checkpoint is not timed);
* ``bare step`` – ``model.training_step`` in a loop over the same batches, in the precision
                  the trainer picks (``--amp auto``: bf16 autocast where the CPU runs bf16
                  natively, else float32);
* ``bare fp32`` – the same in float32 (``--amp off``);
* ``plain``     – the textbook PyTorch loop over the same network: D on real, D on detached
                  fakes, then D on the fakes again for G; ``nn.Dropout``, default Adam;
* ``tf.keras``  – the seeds' own tf.keras step (one tape, ``tf.function``), only when
                  TensorFlow is importable.

Other processes share these cores, so the variants run interleaved in short rounds and
the medians of the per-round figures are reported.

    .venv/bin/python benchmarks/bench_dcgan.py [--rounds 5] [--steps 6] [--batch 256]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hangulgan.data.dataset import GlyphDataset
from hangulgan.data.glyphset import GlyphSet
from hangulgan.models import DCGAN, DCGANConfig
from hangulgan.train.config import TrainConfig
from hangulgan.train.trainer import (
    EpochSampler,
    Trainer,
    bf16_is_native,
    data_info,
    seed_everything,
)


def synthetic_glyphs(n: int = 4096, size: int = 32) -> GlyphDataset:
    """Random stroke-like glyphs (the speed does not depend on what they show)."""
    rng = np.random.default_rng(0)
    images = np.zeros((n, size, size), np.uint8)
    for i in range(n):
        for _ in range(4):
            y, x = rng.integers(2, size - 6, 2)
            if rng.random() < 0.5:
                images[i, y : y + 2, x : x + rng.integers(4, size - x)] = 255
            else:
                images[i, y : y + rng.integers(4, size - y), x : x + 2] = 255
    return GlyphDataset.from_glyphsets([GlyphSet(images, 0xAC00 + np.arange(n) % 11172)])


# --------------------------------------------------------------------- the plain reference


def plain_networks() -> tuple[nn.Module, nn.Module]:
    """The same seeds' network written the everyday way (nn.Sequential, nn.Dropout)."""
    g = nn.Sequential(
        nn.Linear(100, 1024, bias=False),
        nn.BatchNorm1d(1024),
        nn.LeakyReLU(0.3),
        nn.Linear(1024, 8192, bias=False),
        nn.BatchNorm1d(8192),
        nn.LeakyReLU(0.3),
        nn.Unflatten(1, (128, 8, 8)),
        nn.ConvTranspose2d(128, 128, 5, 1, 2, bias=False),
        nn.BatchNorm2d(128),
        nn.LeakyReLU(0.3),
        nn.ConvTranspose2d(128, 64, 5, 2, 2, output_padding=1, bias=False),
        nn.BatchNorm2d(64),
        nn.LeakyReLU(0.3),
        nn.ConvTranspose2d(64, 1, 5, 2, 2, output_padding=1),
        nn.Tanh(),
    )
    d = nn.Sequential(
        nn.Conv2d(1, 64, 5, 2, 2),
        nn.LeakyReLU(0.2),
        nn.Dropout(0.3),
        nn.Conv2d(64, 128, 5, 2, 2),
        nn.LeakyReLU(0.2),
        nn.Flatten(),
        nn.Linear(8192, 256),
        nn.LeakyReLU(0.2),
        nn.Dropout(0.3),
        nn.Linear(256, 1),
    )
    return g, d


class PlainLoop:
    """The textbook loop: D twice on the fakes (detached for D, attached for G)."""

    def __init__(self) -> None:
        self.g, self.d = plain_networks()
        self.opt_g = torch.optim.Adam(self.g.parameters(), 1e-4)
        self.opt_d = torch.optim.Adam(self.d.parameters(), 1e-4)

    def step(self, real: torch.Tensor) -> None:
        bce = F.binary_cross_entropy_with_logits
        fake = self.g(torch.randn(len(real), 100))
        self.opt_d.zero_grad()
        l_real, l_fake = self.d(real), self.d(fake.detach())
        d_loss = bce(l_real, torch.ones_like(l_real)) + bce(l_fake, torch.zeros_like(l_fake))
        d_loss.backward()
        self.opt_d.step()
        self.opt_g.zero_grad()
        l_fake = self.d(fake)
        bce(l_fake, torch.ones_like(l_fake)).backward()
        self.opt_g.step()


# --------------------------------------------------------------------- the seeds' tf.keras


def tf_step_factory(batch: int):
    """The seeds' tf.keras DCGAN step, or None when TensorFlow is not importable."""
    try:
        import tensorflow as tf
        from tensorflow.keras import layers
    except ImportError:
        return None
    g = tf.keras.Sequential(
        [
            layers.Dense(1024, use_bias=False, input_shape=(100,)),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Dense(8 * 8 * 128, use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Reshape((8, 8, 128)),
            layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(1, 5, strides=2, padding="same", activation="tanh"),
        ]
    )
    d = tf.keras.Sequential(
        [
            layers.Conv2D(64, 5, strides=2, padding="same", input_shape=(32, 32, 1)),
            layers.LeakyReLU(0.2),
            layers.Dropout(0.3),
            layers.Conv2D(128, 5, strides=2, padding="same"),
            layers.LeakyReLU(0.2),
            layers.Flatten(),
            layers.Dense(256),
            layers.LeakyReLU(0.2),
            layers.Dropout(0.3),
            layers.Dense(1),
        ]
    )
    cross_entropy = tf.keras.losses.BinaryCrossentropy(from_logits=True)
    opt_g, opt_d = tf.keras.optimizers.Adam(1e-4), tf.keras.optimizers.Adam(1e-4)

    @tf.function
    def step(images):
        noise = tf.random.normal([batch, 100])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = g(noise, training=True)
            real_out, fake_out = d(images, training=True), d(fake, training=True)
            g_loss = cross_entropy(tf.ones_like(fake_out), fake_out)
            d_loss = cross_entropy(tf.ones_like(real_out), real_out) + cross_entropy(
                tf.zeros_like(fake_out), fake_out
            )
        opt_g.apply_gradients(
            zip(g_tape.gradient(g_loss, g.trainable_variables), g.trainable_variables, strict=True)
        )
        opt_d.apply_gradients(
            zip(d_tape.gradient(d_loss, d.trainable_variables), d.trainable_variables, strict=True)
        )

    images = tf.random.uniform([batch, 32, 32, 1], -1, 1)
    return lambda: step(images)


# --------------------------------------------------------------------- measuring


def step_times(fn, steps: int) -> list[float]:
    """Seconds of each of ``steps`` calls (after one untimed call that re-warms caches)."""
    fn()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def quiet_rate(times: list[float], batch: int) -> float:
    """Images/s over the faster half of the steps: the steps other processes disturbed least."""
    fast = sorted(times)[: max(1, len(times) // 2)]
    return batch / statistics.fmean(fast)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--steps", type=int, default=5, help="steps per variant per round")
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()
    batch, steps = args.batch, args.steps
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {batch}, "
        f"{args.rounds} rounds × {steps} steps per variant, interleaved"
    )

    dataset = synthetic_glyphs()
    seed_everything(0)
    model = DCGAN(DCGANConfig(), data_info(dataset)).to("cpu")
    plain = PlainLoop()
    sampler = EpochSampler(len(dataset), batch, seed=0)
    plain_batch = dataset.get_batch(sampler.next_indices())["image"]

    autocast = bf16_is_native(torch.device("cpu"))
    print(f"trainer precision (--amp auto): {'bf16 autocast' if autocast else 'float32'}")

    def bare_fp32() -> None:
        model.training_step(dataset.get_batch(sampler.next_indices()), 0)

    def bare() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            model.training_step(dataset.get_batch(sampler.next_indices()), 0)

    with tempfile.TemporaryDirectory() as tmp:
        # the trainer as `hangulgan train` runs it: EMA, progress bar, metrics every 50 steps
        config = TrainConfig(batch=batch, ema=True, progress=True, steps=0)
        trainer_model = DCGAN(DCGANConfig(), data_info(dataset)).to("cpu")
        (Path(tmp) / "run").mkdir()
        trainer = Trainer(trainer_model, dataset, config, Path(tmp) / "run")
        stamps: list[float] = []
        trainer.callbacks.append(lambda _t, _s, _l: stamps.append(time.perf_counter()))

        def trainer_times() -> list[float]:
            stamps.clear()
            trainer.total_steps = trainer.step + steps + 2
            trainer.fit()  # the final checkpoint and grid fall outside the timed steps
            os.sync()  # let the checkpoint's writeback finish before the next variant runs
            return list(np.diff(stamps))[1:]

        tf_step = tf_step_factory(batch)
        step_times(bare, 2)  # warm-up: allocator, oneDNN primitive caches
        step_times(lambda: plain.step(plain_batch), 2)
        trainer_times()
        if tf_step:
            step_times(tf_step, 2)
        times: dict[str, list[float]] = {
            "trainer": [],
            "bare": [],
            "bare32": [],
            "plain": [],
            "tf": [],
        }
        for r in range(args.rounds):
            times["plain"] += step_times(lambda: plain.step(plain_batch), steps)
            times["bare"] += step_times(bare, steps)
            if autocast:
                times["bare32"] += step_times(bare_fp32, steps)
            times["trainer"] += trainer_times()
            if tf_step:
                times["tf"] += step_times(tf_step, steps)
            done = "  ".join(f"{k} {batch * len(v) / sum(v):.0f}" for k, v in times.items() if v)
            print(f"after round {r + 1} (mean img/s so far): {done}", flush=True)

    quiet = {k: quiet_rate(v, batch) for k, v in times.items() if v}
    median = {k: batch / statistics.median(v) for k, v in times.items() if v}
    print()
    print("img/s: 'quiet' = faster half of all steps, 'median' = median step")
    for key, label in (
        ("trainer", "trainer (ours)"),
        ("bare", "bare step loop"),
        ("bare32", "bare step, float32"),
        ("plain", "plain PyTorch loop"),
        ("tf", "seeds' tf.keras"),
    ):
        if key in quiet:
            print(f"{label:20s} quiet {quiet[key]:6.0f}   median {median[key]:6.0f}")
    print(
        f"trainer overhead     quiet {100 * (1 - quiet['trainer'] / quiet['bare']):5.1f} %"
        f"   median {100 * (1 - median['trainer'] / median['bare']):5.1f} %"
    )
    print(
        f"ours / plain         quiet {quiet['trainer'] / quiet['plain']:5.2f} ×"
        f"   median {median['trainer'] / median['plain']:5.2f} ×"
    )
    if "tf" in quiet:
        print(
            f"ours / tf.keras      quiet {quiet['trainer'] / quiet['tf']:5.2f} ×"
            f"   median {median['trainer'] / median['tf']:5.2f} ×"
        )
        if "bare32" in quiet:
            print(
                f"float32 / tf.keras   quiet {quiet['bare32'] / quiet['tf']:5.2f} ×"
                f"   median {median['bare32'] / median['tf']:5.2f} ×  (both float32)"
            )
    else:
        print("seeds' tf.keras      not measured (TensorFlow is not importable here)")


if __name__ == "__main__":
    main()
