"""Run every benchmark (``make bench``) and end with one table: figure, target, pass/miss.

    python benchmarks/run_all.py [bench_render.py ...]

Each ``benchmarks/bench_*.py`` runs in its own process, one after the other (they time
things, so never side by side), with its output shown as it comes. A script that exits
non-zero without reporting a missed target (a crash) is listed as a miss of its own.
Exit code 1 when anything missed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from report import SUMMARY_ENV, Figure, read_summary, table

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = [HERE / name for name in argv] or sorted(HERE.glob("bench_*.py"))
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="hangulgan-bench-") as tmp:
        for script in scripts:
            summary = Path(tmp) / f"{script.stem}.jsonl"
            print(f"== {script.name}", flush=True)
            started = time.perf_counter()
            code = subprocess.run(
                [sys.executable, str(script)], env=os.environ | {SUMMARY_ENV: str(summary)}
            ).returncode
            seconds = time.perf_counter() - started
            reported = read_summary(str(summary)) if summary.exists() else []
            figures += reported
            missed = any(f.ok is False for f in reported)
            if code == 0 and not reported:
                figures.append(Figure(script.stem, "reported no figures", "", "", None))
            if code != 0 and not missed:
                figures.append(
                    Figure(script.stem, "script finished", f"exit {code}", "exit 0", False)
                )
            print(f"== {script.name}: exit {code} after {seconds:.0f} s\n", flush=True)
    print("summary of make bench (2-core machine; other work may share it)")
    print(table(figures))
    return 1 if any(f.ok is False for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
