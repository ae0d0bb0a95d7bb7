"""OCR export speed: augmented 32-px word images per second on one core, against a
trdg-like Pillow loop in the same run.

    python benchmarks/bench_ocr.py [--words 8000] [--reference-words 800]

Ours: NanumGothic's KS X 1001 syllables rendered once as a 32 px glyph set, then words of
2–6 syllables from the built-in sampler, set by the glyphs' advances with the per-glyph
(torch, batched) and per-line distortions of ``--augment``, each encoded as PNG: the
bytes every writer of ``ocr-export`` receives (writing them to disk is left out of both
sides). Target ≥ 2,000 words/s on one core.

Reference, the way TextRecognitionDataGenerator makes a word: ImageFont.truetype and
ImageDraw per word, a random rotation with expand, resize to 32 px high, a noisy
background, Gaussian blur, PNG encoding.

Both sides run in this one process on one thread (torch.set_num_threads(1)), so "per
second on one core" is measured as CPU seconds of the process (time.process_time): on the
shared 2-core machine a wall clock counts the time other work holds the core. The wall
rate is reported beside it for information, and the ratio of the two sides, measured in
one run, is the steadiest figure. Exits 1 when the target is missed.

``--scaling N`` also times the whole command (``hangulgan ocr-export`` of N augmented words
into an LMDB, disk writes and start-up included) with ``--workers 1`` and with one worker
per core, and reports the wall-clock ratio: how ``--workers`` scales on this machine
(for information: a shared machine's other work takes cores from it).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from report import Report  # noqa: E402

from hangulgan import hangul  # noqa: E402
from hangulgan.data.glyphset import GlyphSet  # noqa: E402
from hangulgan.data.render import render_face  # noqa: E402
from hangulgan.ocr.compose import LineAugment, Sampler, Source  # noqa: E402
from hangulgan.ocr.export import encode_image, render_batch  # noqa: E402

NANUM_GOTHIC = "/usr/share/fonts/truetype/nanum/NanumGothic.ttf"
TARGET_WORDS_PER_S = 2000
HEIGHT = 32
BATCH = 512


def ours(source: Source, words: list[str], seed: int = 0) -> tuple[float, float]:
    """Words per CPU second and per wall second: set, augmented and PNG-encoded."""
    import torch

    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    augment = LineAugment()
    started, cpu = time.perf_counter(), time.process_time()
    total = 0
    with torch.no_grad():
        for at in range(0, len(words), BATCH):
            pairs = [(source, w) for w in words[at : at + BATCH]]
            for image in render_batch(pairs, augment, rng, generator):
                total += len(encode_image(image, "png"))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert total > 0
    return len(words) / cpu, len(words) / wall


def reference(words: list[str], seed: int = 0) -> tuple[float, float]:
    """Words per CPU second and per wall second, the trdg way: a font object and a
    drawing per word."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    rng = np.random.default_rng(seed)
    started, cpu = time.perf_counter(), time.process_time()
    for word in words:
        font = ImageFont.truetype(NANUM_GOTHIC, HEIGHT)
        left, top, right, bottom = font.getbbox(word)
        text = Image.new("L", (right + 4, bottom + 4), 0)
        ImageDraw.Draw(text).text((2, 2), word, fill=255, font=font)
        text = text.rotate(float(rng.uniform(-3, 3)), resample=Image.BILINEAR, expand=True)
        width = max(1, round(text.width * HEIGHT / text.height))
        text = text.resize((width, HEIGHT), Image.BILINEAR)
        noise = rng.normal(235, 10, (HEIGHT, width)).clip(0, 255).astype(np.uint8)
        background = Image.fromarray(noise)
        background.paste(Image.new("L", text.size, int(rng.uniform(0, 90))), (0, 0), text)
        image = background.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 0.9))))
        buffer = io.BytesIO()
        image.save(buffer, "PNG", compress_level=1)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return len(words) / cpu, len(words) / wall


def command_seconds(words: int, workers: int, out: str) -> float:
    """Wall seconds of one ``ocr-export`` command of ``words`` augmented words."""
    import subprocess

    hangulgan = os.path.join(os.path.dirname(sys.executable), "hangulgan")
    command = [hangulgan, "ocr-export", NANUM_GOTHIC, "--count", str(words), "--augment"]
    command += ["--format", "lmdb", "--out", out, "--workers", str(workers), "--quiet"]
    started = time.perf_counter()
    subprocess.run([*command, "--force"], check=True, capture_output=True)
    return time.perf_counter() - started


def main(argv: list[str]) -> int:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=8000)
    parser.add_argument("--reference-words", type=int, default=800)
    parser.add_argument("--scaling", type=int, default=20000, help="0: skip the --workers run")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    report = Report("bench_ocr")
    if not os.path.exists(NANUM_GOTHIC):
        print(f"{NANUM_GOTHIC} not installed (run make fonts)", file=sys.stderr)
        return 1
    rendered = render_face(NANUM_GOTHIC, hangul.ksx1001_syllables(), size=HEIGHT)
    glyphs = GlyphSet(
        rendered.images, rendered.codepoints, "NanumGothic", rendered.placement_meta()
    )
    source = Source.from_glyphset(glyphs, HEIGHT)
    sampler = Sampler(source)
    rng = np.random.default_rng(1)
    words = [sampler.word(rng) for _ in range(args.words)]
    ours(source, words[:BATCH])  # warm-up: torch's first call
    rate, rate_wall = ours(source, words)
    ref_rate, ref_wall = reference(words[: args.reference_words])
    report.add(
        "augmented 32 px words of 2-6 syllables, PNG, per CPU s",
        f"{rate:,.0f}/s",
        f">= {TARGET_WORDS_PER_S:,}/s",
        rate >= TARGET_WORDS_PER_S,
    )
    report.add("trdg-like Pillow loop, same words, per CPU s", f"{ref_rate:,.0f}/s")
    report.add("ours / trdg-like (CPU time)", f"{rate / ref_rate:.1f}x")
    report.add("ours, per wall s (shared machine)", f"{rate_wall:,.0f}/s")
    report.add("trdg-like, per wall s (shared machine)", f"{ref_wall:,.0f}/s")
    if args.scaling:
        import tempfile

        cores = os.cpu_count() or 1
        with tempfile.TemporaryDirectory() as scratch:
            one = command_seconds(args.scaling, 1, os.path.join(scratch, "one"))
            many = command_seconds(args.scaling, cores, os.path.join(scratch, "many"))
        report.add(
            f"ocr-export of {args.scaling:,} words, whole command, --workers {cores} / 1",
            f"{one / many:.2f}x ({args.scaling / one:,.0f} → {args.scaling / many:,.0f} words/s "
            "wall)",
        )
    return report.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
