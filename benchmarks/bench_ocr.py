"""OCR export speed: whole ``hangulgan ocr-export`` commands, words and lines per second
on one core, with trdg's rate beside them when trdg is installed.

    python benchmarks/bench_ocr.py [--words 20000] [--lines 5000] [--trdg 500]

Ours: ``hangulgan ocr-export NanumGothic.ttf --fallback-font DejaVuSans.ttf`` with the
built-in real text (words; lines of about 20 characters), heights 24-64, PNG, written to
disk in the gt format: start-up, shaping, drawing, encoding and writing all counted. Plain
and ``--augment`` are timed apart. Targets (issue 23), on the plain command: >= 2,000 word
images/s and >= 500 line images/s per core for the whole command; exits 1 on a miss.
``--augment`` (whole-line warps through scipy.ndimage) is reported beside them.

"Per core" is CPU seconds of the command (its process's user + system time, from
``os.wait4``): on the shared 2-core machine a wall clock counts the time other work holds
the core. The wall rate is reported beside it.

trdg (TextRecognitionDataGenerator; pip install trdg, not a dependency) is timed the same
way when it runs: its ``GeneratorFromStrings`` over the same words, 32 px, with a Korean
font, each image saved as PNG, in ``--trdg-python`` (default this one; trdg 1.8 needs
Pillow < 10, so a venv of its own: ``python -m venv /tmp/trdg && /tmp/trdg/bin/pip
install trdg 'pillow<10'``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from report import Report

NANUM_GOTHIC = "/usr/share/fonts/truetype/nanum/NanumGothic.ttf"
DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
TARGET_WORDS = 2000
TARGET_LINES = 500


def command_rate(
    count: int, kind: str, out: str, *extra: str, height: str = "24-64"
) -> tuple[float, float]:
    """(images per CPU second, per wall second) of one ocr-export command."""
    hangulgan = os.path.join(os.path.dirname(sys.executable), "hangulgan")
    command = [hangulgan, "ocr-export", NANUM_GOTHIC, "--fallback-font", DEJAVU]
    command += ["--count", str(count), "--kind", kind, "--height", height, "--format", "gt"]
    command += ["--out", out, "--quiet", "--force", *extra]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"ocr-export failed: {process.stderr.read().decode()[-500:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return count / cpu, count / wall


TRDG_TIMING = """
import json, os, sys, time
from trdg.generators import GeneratorFromStrings
words, font, out = json.load(open(sys.argv[1], encoding="utf-8")), sys.argv[2], sys.argv[3]
started, cpu = time.perf_counter(), time.process_time()
for i, (image, _label) in enumerate(
    GeneratorFromStrings(words, count=len(words), fonts=[font], size=32)
):
    image.save(os.path.join(out, f"{i}.png"))
print(len(words) / (time.process_time() - cpu), len(words) / (time.perf_counter() - started))
"""


def trdg_rate(words: list[str], out: str, python: str) -> tuple[float, float] | str:
    """trdg's images per CPU second and per wall second, timed inside ``python`` (trdg 1.8
    calls Pillow's ``getsize``, gone in Pillow 10, so it may need an environment of its
    own); why not, when it does not run."""
    listing = os.path.join(out, "words.json")
    with open(listing, "w", encoding="utf-8") as handle:
        json.dump(words, handle, ensure_ascii=False)
    result = subprocess.run(
        [python, "-c", TRDG_TIMING, listing, NANUM_GOTHIC, out], capture_output=True, text=True
    )
    if result.returncode != 0:
        return (result.stderr.strip().splitlines() or ["no output"])[-1]
    # trdg prints a notice of its own first ("Missing modules for handwritten text...")
    cpu, wall = map(float, result.stdout.split()[-2:])
    return cpu, wall


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=20000)
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--trdg", type=int, default=500, help="words for trdg (0: skip)")
    parser.add_argument(
        "--trdg-python",
        default=sys.executable,
        help="the Python that has trdg (e.g. a venv with pip install trdg 'pillow<10')",
    )
    args = parser.parse_args(argv)
    for font in (NANUM_GOTHIC, DEJAVU):
        if not os.path.exists(font):
            print(f"{font} not installed (run make fonts)", file=sys.stderr)
            return 1
    report = Report("bench_ocr")
    with tempfile.TemporaryDirectory() as scratch:
        for kind, count, target in (
            ("words", args.words, TARGET_WORDS),
            ("lines", args.lines, TARGET_LINES),
        ):
            for extra in ((), ("--augment",)):
                out = os.path.join(scratch, f"{kind}{len(extra)}")
                cpu, wall = command_rate(count, kind, out, *extra)
                label = f"ocr-export {count:,} {kind}{' --augment' if extra else ''}, 24-64 px"
                if extra:  # the targets are the plain command's; distortions cost more
                    report.add(f"{label}, per CPU s", f"{cpu:,.0f}/s")
                else:
                    ok = cpu >= target
                    report.add(f"{label}, per CPU s", f"{cpu:,.0f}/s", f">= {target:,}/s", ok)
                report.add(f"{label}, per wall s (shared machine)", f"{wall:,.0f}/s")
        if args.trdg:
            from hangulgan.ocr.text import RealText

            rng = np.random.default_rng(0)
            words = [RealText().korean_word(rng) for _ in range(args.trdg)]
            os.makedirs(os.path.join(scratch, "trdg"))
            rates = trdg_rate(words, os.path.join(scratch, "trdg"), args.trdg_python)
            if isinstance(rates, str):
                report.add("trdg, same words", f"does not run: {rates[:80]}")
            else:
                # like with like: ocr-export on the very same words, at trdg's 32 px
                listing = os.path.join(scratch, "trdg-words.txt")
                with open(listing, "w", encoding="utf-8") as handle:
                    handle.write("\n".join(words) + "\n")
                ours, _ = command_rate(
                    len(words), "words", os.path.join(scratch, "same"), "--text", listing,
                    height="32",
                )  # fmt: skip
                report.add("trdg GeneratorFromStrings, 32 px, per CPU s", f"{rates[0]:,.0f}/s")
                report.add("trdg, per wall s (shared machine)", f"{rates[1]:,.0f}/s")
                report.add(
                    f"ocr-export of the same {len(words):,} words at 32 px / trdg, per CPU s",
                    f"{ours:,.0f}/s, {ours / rates[0]:.1f}x",
                )
    return report.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
