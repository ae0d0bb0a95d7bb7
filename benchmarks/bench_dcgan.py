"""DCGAN training speed: like-for-like pairs against the original DCGAN example's tf.keras
step, and the overhead of the trainer around the step.

1. Pairs at batch 256, each side on the same number of threads (torch: intra-op N;
   TensorFlow: intra-op N, inter-op 1, so neither runs more threads than the other):

   * ours in float32 (``DCGAN.training_step``, what ``--amp off`` runs) against the original
     tf.keras step in float32: target ≥ 1.0×;
   * ours under bf16 autocast (``--amp bf16``) against the same tf.keras step built under
     Keras' ``mixed_bfloat16`` policy (D's last layer in float32, as Keras advises):
     target ≥ 1.1×.

   tf.keras comes with the bench extra (``pip install '.[bench]'``); without it the pairs
   are reported as not measured, and the rest still runs. The variants run interleaved in
   short rounds (the machine is shared); a rate is the batch over the mean of the faster
   half of each variant's step times, and the median step is printed beside it.
2. Trainer overhead: ``Trainer.fit`` (EMA, progress bar, metrics every 50 steps, a sample
   grid every 500, a checkpoint at the end of the window: the defaults, at the demo's
   batch of 64) timed as a whole over a window of 1,000 steps, in the precision the
   trainer picks, against the time spent inside its steps (fetching the batch and
   ``training_step``), clocked in the same window: target ≤ 5 %. Bare windows of the
   same steps before and after are reported beside it; on a shared machine they can
   differ from each other by more than the overhead being measured.
3. ``--profile``: where the float32 step spends its time (torch.profiler, top ops).

Everything runs under the malloc setting ``train`` makes on CPU
(:func:`~hangulgan.train.cpu.reuse_freed_memory`), both sides of each pair alike;
``--stock-malloc`` leaves glibc's defaults.

    .venv/bin/python benchmarks/bench_dcgan.py [--threads 2] [--rounds 4] [--steps 5]
        [--window 1000] [--profile] [--stock-malloc]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from report import Report

from hangulgan.data.dataset import GlyphDataset
from hangulgan.data.glyphset import GlyphSet
from hangulgan.models.dcgan import DCGAN
from hangulgan.models.dcgan_config import DCGANConfig
from hangulgan.train.config import TrainConfig
from hangulgan.train.cpu import reuse_freed_memory
from hangulgan.train.device import bf16_is_native, seed_everything
from hangulgan.train.loop import Trainer
from hangulgan.train.sampler import EpochSampler
from hangulgan.train.trainer import data_info

BATCH = 256


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


# ------------------------------------------------------- the original example's tf.keras


def import_tensorflow(threads: int):
    """TensorFlow on ``threads`` intra-op threads and one inter-op thread, or None."""
    try:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf
    except ImportError:
        return None
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    return tf


def tf_step_factory(tf, batch: int, policy: str) -> Callable[[], None]:
    """The original DCGAN example's tf.keras step (one tape pair, ``tf.function``) under
    ``policy`` (``float32`` or ``mixed_bfloat16``)."""
    keras = tf.keras
    layers = keras.layers
    keras.mixed_precision.set_global_policy(policy)
    try:
        g = keras.Sequential(
            [
                keras.Input((100,)),
                layers.Dense(1024, use_bias=False),
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
        d = keras.Sequential(
            [
                keras.Input((32, 32, 1)),
                layers.Conv2D(64, 5, strides=2, padding="same"),
                layers.LeakyReLU(0.2),
                layers.Dropout(0.3),
                layers.Conv2D(128, 5, strides=2, padding="same"),
                layers.LeakyReLU(0.2),
                layers.Flatten(),
                layers.Dense(256),
                layers.LeakyReLU(0.2),
                layers.Dropout(0.3),
                layers.Dense(1, dtype="float32"),  # logits in float32 under mixed policies
            ]
        )
    finally:
        keras.mixed_precision.set_global_policy("float32")
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    opt_g, opt_d = keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)

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


def step_times(fn: Callable[[], None], steps: int) -> list[float]:
    """Seconds of each of ``steps`` calls (after one untimed call that re-warms caches)."""
    fn()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def rate(times: list[float], batch: int = BATCH) -> float:
    """Images/s over the faster half of the steps: the steps other processes disturbed
    least (both sides of a pair are measured the same way, interleaved)."""
    fast = sorted(times)[: max(1, len(times) // 2)]
    return batch / statistics.fmean(fast)


def ours_step(dataset: GlyphDataset, bf16: bool) -> Callable[[], None]:
    """The DCGAN's own training step on fresh batches, in float32 or under bf16 autocast."""
    model = DCGAN(DCGANConfig(), data_info(dataset)).to("cpu")
    sampler = EpochSampler(len(dataset), BATCH, seed=0)

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            model.training_step(dataset.get_batch(sampler.next_indices()), 0)

    return step


def pairs(args, report: Report, dataset: GlyphDataset) -> None:
    tf = import_tensorflow(args.threads)
    native = bf16_is_native(torch.device("cpu"))
    variants: dict[str, Callable[[], None]] = {
        "ours fp32": ours_step(dataset, bf16=False),
        "ours bf16": ours_step(dataset, bf16=True),
    }
    if tf is not None:
        variants["tf.keras fp32"] = tf_step_factory(tf, BATCH, "float32")
        variants["tf.keras bf16"] = tf_step_factory(tf, BATCH, "mixed_bfloat16")
        print(f"TensorFlow {tf.__version__}: intra-op {args.threads} threads, inter-op 1")
    else:
        print(
            "TensorFlow is not installed: the tf.keras pairs are NOT measured "
            "(pip install '.[bench]' installs it)"
        )
    print(f"CPU runs bf16 natively: {native}")
    for fn in variants.values():
        step_times(fn, 2)  # warm-up: graph tracing, oneDNN primitive caches
    times: dict[str, list[float]] = {name: [] for name in variants}
    for r in range(args.rounds):
        for name, fn in variants.items():
            times[name] += step_times(fn, args.steps)
        done = "  ".join(f"{k} {rate(v):.0f}" for k, v in times.items())
        print(f"after round {r + 1} (img/s, faster half): {done}", flush=True)
    rates = {name: rate(t) for name, t in times.items()}
    for name, value in rates.items():
        median = BATCH / statistics.median(times[name])
        report.add(
            f"DCGAN step {name}, {args.threads} threads",
            f"{value:.0f} img/s (median step {median:.0f})",
        )
    for ours, theirs, target in (
        ("ours fp32", "tf.keras fp32", 1.0),
        ("ours bf16", "tf.keras bf16", 1.1),
    ):
        figure = f"DCGAN {ours} / {theirs}"
        if theirs not in rates:
            report.add(
                figure, "not measured: no TensorFlow (pip install '.[bench]')", f"≥ {target}×"
            )
            continue
        ratio = rates[ours] / rates[theirs]
        note = "" if native or "bf16" not in ours else " (bf16 emulated on this CPU)"
        report.add(figure, f"{ratio:.2f}×{note}", f"≥ {target}×", ratio >= target)


def trainer_overhead(args, report: Report, dataset: GlyphDataset) -> None:
    """Trainer.fit over a window of steps with logs, grids and a checkpoint inside it,
    against the bare step over the same number of steps (before and after)."""
    batch, window = 64, args.window
    seed_everything(0)
    autocast = bf16_is_native(torch.device("cpu"))
    bare = DCGAN(DCGANConfig(), data_info(dataset)).to("cpu")
    sampler = EpochSampler(len(dataset), batch, seed=0)

    def bare_window() -> float:
        start = time.perf_counter()
        for _ in range(window):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                bare.training_step(dataset.get_batch(sampler.next_indices()), 0)
        return time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp:
        config = TrainConfig(
            batch=batch, steps=window, ema=True, progress=True, amp="bf16" if autocast else "off"
        )
        model = DCGAN(DCGANConfig(), data_info(dataset)).to("cpu")
        run = Path(tmp) / "run"
        run.mkdir()
        trainer = Trainer(model, dataset, config, run)
        step_times(lambda: bare.training_step(dataset.get_batch(sampler.next_indices()), 0), 3)
        before = bare_window()
        # Inside the window, the time spent in the step itself (batch + training_step) is
        # clocked as it happens: the rest of the window is the trainer's. Unlike windows
        # before and after, this does not move with the machine's speed between them.
        in_step = [0.0]

        def clocked(function):
            def wrapper(*args, **kwargs):
                started = time.perf_counter()
                try:
                    return function(*args, **kwargs)
                finally:
                    in_step[0] += time.perf_counter() - started

            return wrapper

        model.training_step = clocked(model.training_step)
        dataset.get_batch = clocked(dataset.get_batch)
        try:
            start = time.perf_counter()
            result = trainer.fit()
            inside = time.perf_counter() - start
        finally:
            del model.training_step, dataset.get_batch  # the class's own methods again
        after = bare_window()
        written = sorted(p.name for p in run.rglob("*") if p.is_file())
    bare_seconds = (before + after) / 2
    overhead = 100 * (inside / in_step[0] - 1)
    print(
        f"trainer window: {window} steps at batch {batch} in {inside:.1f} s, of which "
        f"{in_step[0]:.1f} s in the steps and their batches (bare step: {before:.1f} s before, "
        f"{after:.1f} s after); wrote {len(written)} files: {', '.join(written)}"
    )
    del result
    report.add(
        f"trainer overhead ({window} steps, logs, grids, checkpoint inside; time outside "
        "the step in the same window)",
        f"{overhead:+.1f} %",
        "≤ 5 %",
        overhead <= 5,
    )
    report.add(
        "trainer window against bare windows before and after (moves with the machine)",
        f"{100 * (inside / bare_seconds - 1):+.1f} % (bare windows differ by "
        f"{100 * abs(before - after) / min(before, after):.0f} %)",
    )


def profile(dataset: GlyphDataset, steps: int = 6) -> None:
    """Top ops of the float32 step by self CPU time."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    step = ours_step(dataset, bf16=False)
    step_times(step, 2)
    with torch_profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(steps):
            step()
    print(
        prof.key_averages(group_by_input_shape=True).table(
            sort_by="self_cpu_time_total", row_limit=25
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=5, help="steps per variant per round")
    parser.add_argument("--window", type=int, default=1000, help="steps of the trainer window")
    parser.add_argument("--skip-pairs", action="store_true")
    parser.add_argument("--skip-trainer", action="store_true")
    parser.add_argument("--profile", action="store_true", help="profile the float32 step only")
    parser.add_argument(
        "--stock-malloc",
        action="store_true",
        help="leave glibc's malloc as it is (train tunes it on CPU: reuse_freed_memory)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    # the process-wide malloc setting `train` makes on CPU; TensorFlow runs under it too
    tuned = False if args.stock_malloc else reuse_freed_memory()
    print(
        f"torch {torch.__version__}, {args.threads} threads, batch {BATCH}, "
        f"malloc reuses freed memory: {tuned}"
    )
    dataset = synthetic_glyphs()
    if args.profile:
        profile(dataset)
        return 0
    report = Report("dcgan")
    if not args.skip_pairs:
        pairs(args, report, dataset)
    if not args.skip_trainer:
        trainer_overhead(args, report, dataset)
    return report.finish()


if __name__ == "__main__":
    raise SystemExit(main())
