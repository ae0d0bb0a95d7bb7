"""`hangulgan styled-export`: the run is checked first, and --force replaces only a styled
weights file, never another file or a folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from hangulgan import hangul
from hangulgan.models.styled_split import DEFAULT_REFERENCES

from conftest import NANUM, debian_font, run_cli

FACES = ("NanumGothic", "NanumMyeongjo", "NanumPen")
CHARSET = sorted(set(hangul.ksx1001_syllables()[:60]) | {ord(c) for c in DEFAULT_REFERENCES})
TINY = ("--width", "8", "--style-dim", "16", "--jamo-dim", "8", "--res-blocks", "1",
        "--holdout-faces", "NanumPen", "--refs-min", "2", "--refs-max", "4", "--batch", "4",
        "--threads", "1", "--amp", "off", "--no-progress", "--sample-every", "0")  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A styled run of two steps on three Nanum faces."""
    fonts = [debian_font(NANUM / f"{name}.ttf") for name in FACES]
    root = tmp_path_factory.mktemp("styled-export")
    charset = root / "charset.txt"
    charset.write_text("".join(map(chr, CHARSET)), encoding="utf-8")
    code, out = run_cli("render", *fonts, root / "corpus", "--charset", charset, "--quiet")
    assert code == 0, out
    code, out = run_cli(
        "train", "styled", "--corpus", root / "corpus", "--run", root / "run", "--steps", "2",
        *TINY,
    )  # fmt: skip
    assert code == 0, out
    return root / "run"


def test_force_replaces_only_a_styled_weights_file(run, tmp_path):
    weights = tmp_path / "styled.safetensors"
    code, out = run_cli("styled-export", run, "--out", weights)
    assert code == 0, out
    code, out = run_cli("styled-export", run, "--out", weights)
    assert code == 2 and f"{weights}: already exists (replace it with --force)" in out, out
    code, out = run_cli("styled-export", run, "--out", weights, "--force")
    assert code == 0, out
    mine = tmp_path / "thesis.safetensors"
    mine.write_bytes(b"my own model, not hangulgan's")
    code, out = run_cli("styled-export", run, "--out", mine, "--force")
    assert code == 2 and f"error: {mine}: not a styled weights file" in out, out
    assert mine.read_bytes() == b"my own model, not hangulgan's"


def test_out_naming_a_folder_is_a_clear_error(run, tmp_path):
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    for force in ([], ["--force"]):
        code, out = run_cli("styled-export", run, "--out", tmp_path, *force)
        assert code == 2 and f"'{tmp_path}' is a directory" in out, out  # click's check
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_the_run_is_checked_before_the_output(tmp_path):
    taken = tmp_path / "taken.safetensors"
    taken.write_bytes(b"mine")
    code, out = run_cli("styled-export", tmp_path, "--out", taken)
    assert code == 2 and "already exists" not in out, out
    assert str(tmp_path) in out
