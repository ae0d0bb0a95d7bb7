"""Rendering and augmentation speed, as ratios against references run in the same process.

    python benchmarks/bench_render.py [--fonts fonts/] [--skip-full]

1. Clean 32×32 rendering of NanumGothic's 11,172 syllables on one core. Like with like:
   our ``fit`` placement (each glyph centred and scaled into the box) against a Pillow
   ImageDraw loop written as the original examples wrote it, which centres each glyph too
   (target ≥ 3× Pillow); both placements ≥ 40,000 glyphs/s, and ``em`` (the default,
   which only places the em square) reported beside them.
2. Augmentation on one core (target ≥ 20,000 glyphs/s).
3. The whole default font set at 32×32 with --workers 2 (target < 60 s, every process's
   peak memory < 1 GiB).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from report import Report

from hangulgan import hangul
from hangulgan.data.augment import augment_copies
from hangulgan.data.render import FaceRenderer

NANUM_GOTHIC = "/usr/share/fonts/truetype/nanum/NanumGothic.ttf"


def best_rate(func, count: int, repeats: int = 3) -> float:
    """Highest items/s over ``repeats`` runs (the least disturbed by other load)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return count / best


def pillow_loop(path: str, codepoints: list[int], size: int = 32) -> np.ndarray:
    """The original examples' way: a fresh image per glyph, the glyph measured (textbbox) and drawn
    centred with ImageDraw.text."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(path, size)
    out = np.zeros((len(codepoints), size, size), dtype=np.uint8)
    for i, cp in enumerate(codepoints):
        image = Image.new("L", (size, size), 0)
        draw = ImageDraw.Draw(image)
        left, top, right, bottom = draw.textbbox((0, 0), chr(cp), font=font)
        origin = ((size - (right - left)) / 2 - left, (size - (bottom - top)) / 2 - top)
        draw.text(origin, chr(cp), font=font, fill=255)
        out[i] = np.asarray(image)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fonts", default="fonts", help="folder of the default font set")
    parser.add_argument("--skip-full", action="store_true", help="skip the whole-set render")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cps = hangul.all_syllables()
    report = Report("render")

    renderer = FaceRenderer(NANUM_GOTHIC, size=32, placement="em")
    ours = best_rate(lambda: renderer.render(cps), len(cps))
    fit = FaceRenderer(NANUM_GOTHIC, size=32, placement="fit")
    ours_fit = best_rate(lambda: fit.render(cps), len(cps))
    subset = cps[::4]
    pillow = best_rate(lambda: pillow_loop(NANUM_GOTHIC, subset), len(subset))
    print(f"render  ours (em)   {ours:>10,.0f} glyphs/s")
    print(f"render  ours (fit)  {ours_fit:>10,.0f} glyphs/s")
    print(f"render  Pillow loop {pillow:>10,.0f} glyphs/s (centred, as the original examples)")
    report.add("render fit, one core", f"{ours_fit:,.0f} glyphs/s", "≥ 40,000/s", ours_fit >= 4e4)
    report.add("render em, one core", f"{ours:,.0f} glyphs/s", "≥ 40,000/s", ours >= 4e4)
    report.add(
        "render fit / original examples' Pillow loop",
        f"{ours_fit / pillow:.2f}×",
        "≥ 3×",
        ours_fit / pillow >= 3,
    )
    report.add("render em / original examples' Pillow loop", f"{ours / pillow:.2f}×")

    images = renderer.render(cps).images
    augment_rate = best_rate(lambda: augment_copies(images, 2, seed=0), 2 * len(images), 2)
    print(f"augment one core    {augment_rate:>10,.0f} glyphs/s")
    report.add(
        "augment, one core", f"{augment_rate:,.0f} glyphs/s", "≥ 20,000/s", augment_rate >= 2e4
    )

    fonts = Path(args.fonts)
    if not args.skip_full and fonts.is_dir():
        with tempfile.TemporaryDirectory() as tmp:
            cli = [sys.executable, "-m", "hangulgan", "render", str(fonts), tmp]
            start = time.perf_counter()
            done = subprocess.run(
                [*cli, "--workers", "2", "--quiet"], capture_output=True, text=True, env=os.environ
            )
            seconds = time.perf_counter() - start
            peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            summary = [line for line in done.stdout.splitlines() if line.startswith("rendered")]
            outcome = summary[0] if summary else done.stderr
            print(f"full set --workers 2: {seconds:.1f} s; {outcome}")
            print(f"full set peak memory of any process: {peak_mib:.0f} MiB")
            report.add(
                "default font set, --workers 2",
                f"{seconds:.1f} s",
                "< 60 s",
                seconds < 60 and bool(summary),
            )
            report.add(
                "default font set, peak memory", f"{peak_mib:.0f} MiB", "< 1 GiB", peak_mib < 1024
            )
    elif not args.skip_full:
        print(f"full set: {fonts} not found (run make fonts)")
        report.add("default font set, --workers 2", f"{fonts} not found", "< 60 s", False)

    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
