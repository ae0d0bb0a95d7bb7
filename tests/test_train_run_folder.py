"""`train --run DIR`: --force replaces a run, and only a run; a folder of the user's that
merely holds files named like a run's is refused, --force or not, and left as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_cli

FAST = ("--batch", "4", "--no-progress", "--sample-every", "0", "--grid", "4", "--steps", "1")


@pytest.fixture
def corpus(tmp_path, test_font) -> Path:
    folder = tmp_path / "corpus"
    code, out = run_cli("render", test_font, folder, "--size", "16", "--quiet")
    assert code in (0, 1), out
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def users_folder(folder: Path, config: str | None) -> dict[str, bytes]:
    """A folder with a run's entry names but the user's own contents."""
    (folder / "samples").mkdir(parents=True)
    (folder / "checkpoints").mkdir()
    (folder / "samples" / "holiday.png").write_bytes(b"my photo")
    (folder / "checkpoints" / "route.gpx").write_text("my route", encoding="utf-8")
    (folder / "metrics.csv").write_text("date,weight\n2024-01-01,70\n", encoding="utf-8")
    if config is not None:
        (folder / "config.json").write_text(config, encoding="utf-8")
    return snapshot(folder)


@pytest.mark.parametrize(
    "config, why",
    [
        ('{"theme": "dark"}\n', "its config.json is not a run's"),
        ("not json at all", "its config.json is not a run's"),
        (None, "no config.json"),
    ],
)
@pytest.mark.parametrize("force", [True, False])
def test_a_folder_that_is_not_a_run_is_never_replaced(tmp_path, corpus, config, why, force):
    """Regression: --force deleted the folder's config.json, metrics.csv, samples/ and
    checkpoints/; without --force the error said it held a run."""
    folder = tmp_path / "mine"
    before = users_folder(folder, config)
    args = ("train", "dcgan", "--corpus", corpus, "--run", folder, *FAST)
    code, out = run_cli(*args, *(["--force"] if force else []))
    assert code == 2, out
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {folder}: not a hangulgan run"), out
    assert why in lines[0] and "holds a run" not in lines[0]
    assert snapshot(folder) == before


def test_force_replaces_a_run(tmp_path, corpus):
    run = tmp_path / "run"
    base = ("train", "dcgan", "--corpus", corpus, "--run", run, *FAST)
    code, out = run_cli(*base)
    assert code == 0, out
    code, out = run_cli(*base)
    assert code == 2 and f"{run}: holds a run already at step 1" in out, out
    (run / "notes.txt").write_text("mine", encoding="utf-8")
    code, out = run_cli(*base, "--seed", "5", "--force")
    assert code == 0, out
    assert json.loads((run / "config.json").read_text())["train"]["seed"] == 5
    assert (run / "notes.txt").read_text(encoding="utf-8") == "mine"  # not a run's entry
