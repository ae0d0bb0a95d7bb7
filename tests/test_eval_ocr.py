"""`hangulgan evaluate --ocr`: Tesseract reads a fixed paragraph; partial fonts; no Tesseract."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hangulgan.errors import FontError
from hangulgan.eval import tesseract
from hangulgan.eval.tesseract import PARAGRAPH, TesseractError, edit_distance, ocr_font

import fontfactory
from conftest import NANUM, debian_font, run_cli

needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="tesseract not installed (make system-deps)"
)


def test_edit_distance():
    assert edit_distance("", "") == 0
    assert edit_distance("가나다", "가나다") == 0
    assert edit_distance("가나다", "가다") == 1
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3


@needs_tesseract
def test_nanum_gothic_reads_well_and_the_reference_sits_beside_it(tmp_path):
    font = debian_font(NANUM / "NanumGothic.ttf")
    pen = debian_font(NANUM / "NanumPen.ttf")
    code, out = run_cli(
        "evaluate", "--ocr", pen, "--reference", font, "--json", tmp_path / "ocr.json"
    )
    assert code == 0, out
    assert "NanumPen.ttf" in out and "NanumGothic.ttf" in out
    result = ocr_font(font)
    assert result.coverage == 1.0 and not result.missing
    assert result.accuracy >= 0.9
    assert result.expected == "".join("".join(PARAGRAPH).split())


@needs_tesseract
def test_a_font_lacking_syllables_is_scored_on_those_it_has(tmp_path):
    # The test font draws 가, 나 and 한 (as rectangles; 다 is mapped but empty); the
    # paragraph uses 나 and 한.
    font = fontfactory.build_font(tmp_path / "partial.ttf")
    result = ocr_font(font)
    total = sum(1 for line in PARAGRAPH for c in line if not c.isspace())
    drawn = sum(1 for line in PARAGRAPH for c in line if c in "가나한")
    assert result.coverage == pytest.approx(drawn / total)
    assert set(result.expected) <= set("가나한")
    assert "다" in result.missing and "한" not in result.missing
    code, out = run_cli("evaluate", "--ocr", font)
    assert code == 0, out
    assert "lacks" in out


@needs_tesseract
def test_a_font_without_any_paragraph_syllable(tmp_path):
    font = fontfactory.build_font(tmp_path / "none.ttf", shapes={0xAC01: [(100, 0, 800, 700)]})
    with pytest.raises(FontError, match="draws none of the test paragraph"):
        ocr_font(font)
    code, out = run_cli("evaluate", "--ocr", tmp_path / "missing.ttf")
    assert code == 2 and "no such font file" in out, out


def test_missing_tesseract_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(TesseractError, match="apt-get install tesseract-ocr tesseract-ocr-kor"):
        tesseract.tesseract_command()
    font = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
    code, out = run_cli("evaluate", "--ocr", font)
    lines = [line for line in out.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, out
    assert lines[0].startswith("error: tesseract not found") and "tesseract-ocr-kor" in lines[0]


def test_missing_korean_model(tmp_path, monkeypatch):
    fake = tmp_path / "tesseract"
    fake.write_text("#!/bin/sh\necho 'List of available languages (1):'\necho eng\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(TesseractError, match="no Korean model"):
        tesseract.check_korean(tesseract.tesseract_command())
