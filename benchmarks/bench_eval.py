"""Evaluation speed: every metric over all 11,172 syllables at 32×32 (target ≤ 10 s).

    python benchmarks/bench_eval.py [--generated FONT] [--real FONT] [--repeats N]

Renders NanumMyeongjo (standing in for a generator's output) and NanumGothic (the real
set), then times :func:`hangulgan.eval.metrics.compare_glyphsets` over every shared
syllable: L1, RMSE, PSNR, SSIM, MS-SSIM (bicubic to 128×128, four levels) and ink IoU,
plus, with the shipped content classifier, content accuracy and Glyph-FID (the target
covers all of them). The best of ``--repeats`` runs is reported, since the machine is
shared; exits 1 on a miss.
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
from hangulgan.eval.classifier import load_default_content_classifier

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
    classifier = load_default_content_classifier()
    report = Report("eval")
    for label, kwargs in (("pixel metrics", {}), ("all metrics", {"classifier": classifier})):
        times, cpu_times = [], []
        for _ in range(args.repeats):
            start, cpu_start = time.perf_counter(), time.process_time()
            result = metrics.compare_glyphsets(generated, real, **kwargs)
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
        best = min(times)
        print(
            f"{label} over {result['count']} glyphs: {best:.2f} s best of {args.repeats} "
            f"({result['count'] / best:,.0f} glyphs/s, {torch.get_num_threads()} torch "
            f"threads, {min(cpu_times):.2f} s of CPU)"
        )
        report.add(
            f"evaluate: {label} over {result['count']:,} glyphs",
            f"{best:.2f} s ({result['count'] / best:,.0f} glyphs/s)",
            f"≤ {TARGET_SECONDS:.0f} s",
            best <= TARGET_SECONDS,
        )
    names = [*metrics.PIXEL_METRICS, "content_accuracy", "glyph_fid"]
    print("  " + ", ".join(f"{k} {result[k]:.4f}" for k in names))
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
