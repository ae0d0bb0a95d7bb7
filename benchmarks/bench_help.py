"""Help speed: ``hangulgan --help`` and ``hangulgan CMD --help`` as whole processes
(target ≤ 0.3 s each, median of several runs).

    python benchmarks/bench_help.py [--runs N]

Each command runs as a user runs it (the ``hangulgan`` script beside this interpreter, or
``python -m hangulgan`` where there is none), from process start to exit, after one
untimed run that warms the file cache. Help imports no torch (torch alone takes over a
second to import); one more run of each command, under ``python -X importtime``, records
whether it did and which imports took longest, so a miss says why. The CPU time of each run
is shown beside its wall time: on a busy machine the wall time grows, the CPU time does
not. ``python -c pass`` is timed too, for scale: no command can start faster than the
interpreter. Exits 1 on a miss.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from report import Report

TARGET_SECONDS = 0.3
COMMANDS = (
    ("--help",),
    ("render", "--help"),
    ("train", "--help"),
    ("train", "dcgan", "--help"),
)
# Runs the command line as the entry point does, then says on stderr whether torch was
# imported (atexit: click's main ends the process with sys.exit).
TORCH_PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('torch imported:', 'torch' in sys.modules, file=sys.stderr))\n"
    "from hangulgan.cli import main\n"
    "main(prog_name='hangulgan')\n"
)


def entry_point() -> list[str]:
    """How a user starts hangulgan: its console script, else ``python -m hangulgan``."""
    script = Path(sys.executable).with_name("hangulgan")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "hangulgan"]


def timed(argv: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of the process from start to exit; raises if it fails."""
    cpu_before = os.times()
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    cpu_after = os.times()
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {result.returncode}:\n{result.stderr}")
    cpu = (cpu_after.children_user - cpu_before.children_user) + (
        cpu_after.children_system - cpu_before.children_system
    )
    return seconds, cpu


def import_profile(args: tuple[str, ...]) -> tuple[bool, list[str]]:
    """Whether ``hangulgan ARGS`` imports torch, and its three slowest top-level imports."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", TORCH_PROBE, *args],
        capture_output=True,
        text=True,
    )
    top = []  # (cumulative µs, module) of imports made at the top level
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            _, cumulative, name = line.split("|")
            if cumulative.strip().isdigit() and not name.startswith("  "):
                top.append((int(cumulative), name.strip()))
    slowest = [f"{name} {us / 1e6:.2f} s" for us, name in sorted(top, reverse=True)[:3]]
    return "torch imported: True" in result.stderr, slowest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each command")
    args = parser.parse_args()

    start = entry_point()
    report = Report("help")
    interpreter = [timed([sys.executable, "-c", "pass"])[0] for _ in range(args.runs)]
    report.add("python -c pass (for scale)", f"{statistics.median(interpreter):.3f} s")
    for command in COMMANDS:
        argv = start + list(command)
        timed(argv)  # warms the file cache
        runs = [timed(argv) for _ in range(args.runs)]
        wall = statistics.median(seconds for seconds, _ in runs)
        cpu = statistics.median(cpu for _, cpu in runs)
        torch, slowest = import_profile(command)
        shown = "hangulgan " + " ".join(command)
        print(
            f"{shown:<30} median {wall:.3f} s wall, {cpu:.3f} s CPU over {args.runs} runs; "
            f"torch imported: {torch}; slowest imports: {', '.join(slowest)}"
        )
        report.add(
            f"{shown}, median of {args.runs}" + (" (imports torch)" if torch else ""),
            f"{wall:.3f} s ({cpu:.3f} s CPU)",
            f"≤ {TARGET_SECONDS} s",
            wall <= TARGET_SECONDS,
        )
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
