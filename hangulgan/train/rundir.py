"""A run folder: what it holds, and its preparation before training writes into it.

A run folder holds ``config.json``, ``checkpoints/``, ``samples/``, ``metrics.csv`` and,
with TensorBoard, ``tensorboard/``. Training replaces (``--force``) only a folder that is a
run, never a user's folder that merely holds files of those names.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from hangulgan.errors import RunError
from hangulgan.train import checkpoint as ckpt
from hangulgan.train.config import CONFIG_FILE, RUN_FORMAT

METRICS_FILE = "metrics.csv"
SAMPLES_DIR = "samples"
TENSORBOARD_DIR = "tensorboard"
RUN_ENTRIES = (CONFIG_FILE, METRICS_FILE, ckpt.CHECKPOINT_DIR, SAMPLES_DIR, TENSORBOARD_DIR)


def _not_a_run(run_dir: Path) -> str | None:
    """Why ``run_dir`` is not a run folder hangulgan wrote, or None when it is one: its
    config.json names the run format (of any version: --force may replace an old run)."""
    try:
        config = json.loads((run_dir / CONFIG_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"no {CONFIG_FILE}"
    except (OSError, ValueError):
        config = None
    if not isinstance(config, dict) or config.get("format") != RUN_FORMAT:
        return f"its {CONFIG_FILE} is not a run's"
    return None


def run_entries(run_dir: Path) -> list[str]:
    """The run entries ``run_dir`` holds; RunError when it holds some but is not a run."""
    present = [name for name in RUN_ENTRIES if (run_dir / name).exists()]
    why = _not_a_run(run_dir) if present else None
    if why:
        # --force replaces a run, never a folder that merely holds files of a run's names
        raise RunError(
            f"{run_dir}: not a hangulgan run ({why}) but holds {', '.join(present)}; "
            "train into a new or empty folder"
        )
    return present


def prepare_run_dir(run_dir: Path, force: bool) -> None:
    """Check (and with ``force`` clear) a run folder before a new run trains into it."""
    if run_dir.exists() and not run_dir.is_dir():
        raise RunError(f"{run_dir}: exists and is not a folder")
    present = run_entries(run_dir)
    if present and not force:
        step = ckpt.list_checkpoints(run_dir)
        where = f" at step {step[-1][0]}" if step else ""
        raise RunError(
            f"{run_dir}: holds a run already{where}; continue it with --resume "
            "or replace it with --force"
        )
    for name in present:
        target = run_dir / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()
    run_dir.mkdir(parents=True, exist_ok=True)
