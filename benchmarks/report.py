"""Figures with targets: every benchmark reports through :class:`Report`.

A benchmark records each figure with its target and whether it met it, prints its own
table, and exits non-zero when any target is missed. When ``HANGULGAN_BENCH_SUMMARY``
names a file, the figures are appended to it as JSON lines, from which
``benchmarks/run_all.py`` (``make bench``) prints one summary table at the end.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass

SUMMARY_ENV = "HANGULGAN_BENCH_SUMMARY"


@dataclass
class Figure:
    bench: str
    figure: str
    measured: str
    target: str  # "" for a figure reported for information only
    ok: bool | None  # None: no target

    @property
    def verdict(self) -> str:
        return {True: "pass", False: "MISS", None: "info"}[self.ok]


class Report:
    """The figures of one benchmark script."""

    def __init__(self, bench: str) -> None:
        self.bench = bench
        self.figures: list[Figure] = []

    def add(self, figure: str, measured: str, target: str = "", ok: bool | None = None) -> None:
        """Record a figure; ``ok`` says whether it met ``target`` (None: no target)."""
        self.figures.append(Figure(self.bench, figure, measured, target, ok))

    def finish(self) -> int:
        """Print the table, append to the summary file, return the exit code (1 on a miss)."""
        print()
        print(table(self.figures))
        path = os.environ.get(SUMMARY_ENV)
        if path:
            with open(path, "a", encoding="utf-8") as handle:
                for figure in self.figures:
                    handle.write(json.dumps(asdict(figure), ensure_ascii=False) + "\n")
        return 1 if any(f.ok is False for f in self.figures) else 0


def table(figures: list[Figure]) -> str:
    """A plain-text table: figure, measured, target, verdict."""
    rows = [("figure", "measured", "target", "")]
    rows += [(f.figure, f.measured, f.target or "—", f.verdict) for f in figures]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for n, row in enumerate(rows):
        cells = [cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)]
        lines.append("  ".join([*cells, row[3]]))
        if n == 0:
            lines.append("  ".join(["-" * width for width in widths] + ["----"]))
    return "\n".join(line.rstrip() for line in lines)


def read_summary(path: str) -> list[Figure]:
    """The figures appended to ``path`` by the benchmarks."""
    with open(path, encoding="utf-8") as handle:
        return [Figure(**json.loads(line)) for line in handle if line.strip()]


if __name__ == "__main__":
    print(table(read_summary(sys.argv[1])))
