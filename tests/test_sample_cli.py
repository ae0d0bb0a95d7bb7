"""`hangulgan sample`: what --out and --out-set may replace, and with what error it stops."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hangulgan.data.glyphset import GlyphSet

import fontfactory
from conftest import run_cli

FAST = ("--batch", "4", "--no-progress", "--sample-every", "0", "--grid", "4", "--steps", "1")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A conditional DCGAN trained one step on the rectangle test font."""
    root = tmp_path_factory.mktemp("sample")
    font = fontfactory.build_font(root / "test-hangul.ttf")
    code, out = run_cli("render", font, root / "corpus", "--size", "16", "--quiet")
    assert code in (0, 1), out
    code, out = run_cli(
        "train", "dcgan", "--corpus", root / "corpus", "--run", root / "run", "--conditional",
        *FAST,
    )  # fmt: skip
    assert code == 0, out
    return root / "run"


def one_error_line(code: int, out: str, *words: str) -> str:
    assert code == 2, out
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), out
    for word in words:
        assert word in lines[0], out
    return lines[0]


def test_out_never_overwrites_a_file_without_force(run, tmp_path):
    """Regression: sample --out user.png overwrote the user's file."""
    mine = tmp_path / "user.png"
    Image.new("RGB", (3, 3), "red").save(mine)
    before = mine.read_bytes()
    one_error_line(*run_cli("sample", run, "--out", mine), f"{mine}: already exists", "--force")
    assert mine.read_bytes() == before
    # --force replaces a grid sample wrote, never another image
    one_error_line(
        *run_cli("sample", run, "--out", mine, "--force"), f"{mine}: not a grid that hangulgan drew"
    )
    assert mine.read_bytes() == before
    grid = tmp_path / "grid.png"
    code, out = run_cli("sample", run, "--n", "4", "--out", grid)
    assert code == 0, out
    first = grid.read_bytes()
    code, out = run_cli("sample", run, "--n", "9", "--out", grid, "--force")
    assert code == 0, out
    assert grid.read_bytes() != first


def test_out_naming_a_folder_is_a_clear_error(run, tmp_path):
    """Regression: sample --out DIR exited 70 (an internal error)."""
    folder = tmp_path / "pictures"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine", encoding="utf-8")
    for force in ([], ["--force"]):
        one_error_line(*run_cli("sample", run, "--out", folder, *force), f"{folder}: is a folder")
    assert os.listdir(folder) == ["keep.txt"]


def test_out_set_force_replaces_only_a_glyph_set_sample_wrote(run, tmp_path):
    out = tmp_path / "glyphs"
    code, text = run_cli("sample", run, "--out-set", out, "--text", "가나")
    assert code == 0, text
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    one_error_line(*run_cli("sample", run, "--out-set", out, "--text", "가"), "already exists")
    code, text = run_cli("sample", run, "--out-set", out, "--text", "한", "--force")
    assert code == 0, text
    assert GlyphSet.load(out).text == "한"
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    # a glyph set another command made (a corpus face, generate's output) is not sample's
    other = tmp_path / "other"
    GlyphSet(np.zeros((1, 16, 16), np.uint8), np.array([0xAC00]), "face").save(other)
    before = {p.name: p.read_bytes() for p in other.iterdir()}
    one_error_line(
        *run_cli("sample", run, "--out-set", other, "--text", "가", "--force"),
        f"{other}: ",
        "not a glyph set sample wrote",
    )
    assert {p.name: p.read_bytes() for p in other.iterdir()} == before
    # a folder of the user's that holds files of a glyph set's names: untouched too
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "images.npy").write_bytes(b"my array")
    (mine / "glyphset.json").write_text(json.dumps({"my": "settings"}), encoding="utf-8")
    one_error_line(
        *run_cli("sample", run, "--out-set", mine, "--text", "가", "--force"),
        "not a glyph set sample wrote",
    )
    assert (mine / "images.npy").read_bytes() == b"my array"


def test_the_run_is_checked_before_the_outputs(tmp_path):
    grid = tmp_path / "grid.png"
    grid.write_bytes(b"mine")
    one_error_line(*run_cli("sample", tmp_path / "no-run", "--out", grid), "no-run")
