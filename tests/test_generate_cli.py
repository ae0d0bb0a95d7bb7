"""`hangulgan generate` with the shipped weights: what --out and --force may replace, and
how a Ctrl-C ends it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from hangulgan.data.glyphset import GlyphSet

from conftest import run_cli

ROOT = Path(__file__).resolve().parents[1]
FAST = ("generate", "--style", "random", "--charset", "seed16", "--no-progress")


def test_force_replaces_a_glyph_set_generate_made(tmp_path):
    out = tmp_path / "drawn"
    code, text = run_cli(*FAST, "--out", out)
    assert code == 0, text
    assert json.loads((out / "glyphset.json").read_text())["meta"]["source"] == "hangulgan generate"
    code, text = run_cli(*FAST, "--out", out)
    assert code == 2 and f"{out}: already exists (replace it with --force)" in text, text
    code, text = run_cli(*FAST, "--seed", "1", "--out", out, "--force")
    assert code == 0, text
    assert len(GlyphSet.load(out)) == 16 and (out / "preview.png").is_file()


def test_force_never_replaces_a_folder_generate_did_not_make(tmp_path):
    """Regression: --force deleted everything in --out, whatever it held."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me", encoding="utf-8")
    code, text = run_cli(*FAST, "--out", mine, "--force")
    assert code == 2, text
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {mine}: "), text
    assert "--force replaces only" in lines[0]
    assert os.listdir(mine) == ["notes.txt"]
    # a glyph set, but not one generate drew (a corpus face, sample --out-set): kept too
    face = tmp_path / "face"
    GlyphSet(np.zeros((1, 8, 8), np.uint8), np.array([0xAC00]), "face").save(face)
    before = sorted(os.listdir(face))
    code, text = run_cli(*FAST, "--out", face, "--force")
    assert code == 2 and f"error: {face}: " in text, text
    assert sorted(os.listdir(face)) == before and len(GlyphSet.load(face)) == 1
    # an empty folder holds nothing to lose: it is written into, --force or not
    empty = tmp_path / "empty"
    empty.mkdir()
    code, text = run_cli(*FAST, "--out", empty)
    assert code == 0, text
    assert len(GlyphSet.load(empty)) == 16


def test_input_is_checked_before_the_output_clash(tmp_path):
    out = tmp_path / "drawn"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    code, text = run_cli("generate", "--refs", ROOT / "README.md", "--out", out, "--no-progress")
    assert code == 2 and "--refs takes a font file or a folder of images" in text, text


# Ctrl-C while drawing: the glyphs are drawn by a stand-in that is interrupted after three
PLANT_INTERRUPT = """
from hangulgan.models.styled_inference import StyledGenerator
def glyphset(self, style, codepoints, name, progress=None, placement=None, keep=None):
    for _ in range(3):
        progress(1)
    raise KeyboardInterrupt
StyledGenerator.glyphset = glyphset
from hangulgan.cli import main
main()
"""


def test_ctrl_c_closes_the_progress_bar_before_saying_interrupted(tmp_path):
    """Regression: the bar was drawn again below "interrupted" as the process exited."""
    out = tmp_path / "drawn"
    result = subprocess.run(
        [sys.executable, "-c", PLANT_INTERRUPT, *FAST[:-1], "--out", str(out)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        timeout=300,
    )
    assert result.returncode == 130, result.stderr
    shown = [line for line in result.stderr.replace("\r", "\n").splitlines() if line.strip()]
    assert shown[-1] == "interrupted", result.stderr
    assert "3/16" in shown[-2]  # the bar, closed where it stopped
    assert not out.exists()


# Ctrl-C during adaptation: the trainer stops at the next step, and adaptation raises
# KeyboardInterrupt rather than hand back half-adapted weights (stand-in: a stop at step 2)
PLANT_ADAPT_STOP = """
from hangulgan.models import styled_adapt
class StopAtTwo(styled_adapt.DivergenceWatch):
    def __call__(self, trainer, step, losses):
        super().__call__(trainer, step, losses)
        if step == 2:
            trainer.request_stop()
styled_adapt.DivergenceWatch = StopAtTwo
from hangulgan.cli import main
main()
"""


def test_ctrl_c_during_adaptation_exits_130_and_writes_nothing(tmp_path):
    out = tmp_path / "drawn"
    font = "/usr/share/fonts/truetype/nanum/NanumGothic.ttf"
    args = ["generate", "--refs", font, "--adapt", "--charset", "seed16", "--no-progress"]
    result = subprocess.run(
        [sys.executable, "-c", PLANT_ADAPT_STOP, *args, "--out", str(out)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        timeout=300,
    )
    assert result.returncode == 130, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "interrupted", result.stderr
    assert not out.exists()
