"""Evaluation speed: every metric over all 11,172 syllables at 32×32 (target ≤ 10 s).

    python benchmarks/bench_eval.py [--generated FONT] [--real FONT] [--repeats N]

Renders NanumMyeongjo (standing in for a generator's output) and NanumGothic (the real
set), then times :func:`hangulgan.eval.metrics.compare_glyphsets`: L1, RMSE, PSNR, SSIM,
MS-SSIM (bicubic to 128×128, four levels) and ink IoU over every shared syllable.
The best of ``--repeats`` runs is reported, since the machine is shared; exits 1 on a miss.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
from report import Report

from hangulgan import hangul
from hangulgan.data.glyphset import GlyphSet
from hangulgan.data.render import render_face
from hangulgan.eval import metrics

NANUM = "/usr/share/fonts/truetype/nanum"
TARGET_SECONDS = 10.0


def _glyphs(path: str, name: str) -> GlyphSet:
    result = render_face(path, hangul.all_syllables(), size=32)
    return GlyphSet(images=result.images, codepoints=result.codepoints, name=name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generated", default=f"{NANUM}/NanumMyeongjo.ttf")
    parser.add_argument("--real", default=f"{NANUM}/NanumGothic.ttf")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    generated = _glyphs(args.generated, "generated")
    real = _glyphs(args.real, "real")
    times, cpu_times = [], []
    for _ in range(args.repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        result = metrics.compare_glyphsets(generated, real)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    best = min(times)
    per_second = result["count"] / best
    print(
        f"pixel metrics (l1, rmse, psnr, ssim, ms_ssim, ink_iou) over {result['count']} glyphs: "
        f"{best:.2f} s best of {args.repeats} ({per_second:,.0f} glyphs/s, "
        f"{torch.get_num_threads()} torch threads, {min(cpu_times):.2f} s of CPU); "
        f"target ≤ {TARGET_SECONDS:.0f} s"
    )
    print("  " + ", ".join(f"{k} {result[k]:.4f}" for k in metrics.PIXEL_METRICS))
    report = Report("eval")
    report.add(
        f"evaluate: pixel metrics over {result['count']:,} glyphs",
        f"{best:.2f} s ({per_second:,.0f} glyphs/s)",
        f"≤ {TARGET_SECONDS:.0f} s",
        best <= TARGET_SECONDS,
    )
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
