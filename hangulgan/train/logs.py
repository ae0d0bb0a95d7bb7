"""What a run reports: ``metrics.csv``, TensorBoard, and one-line notes on stderr."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

from hangulgan.errors import ConfigError


class MetricsLog:
    """``metrics.csv``: one row per logging interval (means over the interval)."""

    def __init__(self, path: Path, resume_step: int | None) -> None:
        self.path = path
        self.columns: list[str] | None = None
        if resume_step is not None and path.is_file():
            self._truncate_after(resume_step)
        elif path.exists():
            path.unlink()
        self._handle = None

    def _truncate_after(self, step: int) -> None:
        """Drop rows logged after the checkpoint a run resumes from (they will be redone)."""
        with open(self.path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        if not rows:
            return
        self.columns = rows[0]
        kept = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) <= step]
        with open(self.path, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(kept)

    def write(self, row: dict[str, Any]) -> None:
        """Append one row (the header is written with the first row)."""
        if self._handle is None:
            self._handle = open(self.path, "a", newline="", encoding="utf-8")
            if self.columns is None:
                self.columns = list(row)
                csv.writer(self._handle).writerow(self.columns)
        values = []
        for name in self.columns:
            value = row.get(name, "")
            values.append(repr(value) if isinstance(value, float) else value)
        csv.writer(self._handle).writerow(values)
        self._handle.flush()

    def close(self) -> None:
        """Close the file."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def tensorboard_class() -> Any:
    """TensorBoard's SummaryWriter; ConfigError naming the package when it is missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ConfigError(
            "--tensorboard needs the tensorboard package: pip install 'hangulgan[tensorboard]'"
        ) from None
    return SummaryWriter


def open_tensorboard(folder: Path) -> Any:
    """A TensorBoard writer logging into ``folder``."""
    return tensorboard_class()(str(folder))


def warn(message: str) -> None:
    """A one-line note to the user on stderr (the library's only chatter)."""
    print(f"hangulgan: {message}", file=sys.stderr, flush=True)
