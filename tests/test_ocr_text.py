"""The OCR's built-in text: the shipped word list is what its script derives from
wordfreq, the shipped Constitution is the text it names, and the real-text sampler mixes
scripts as Korean writing does, with particles that agree with the word."""

from __future__ import annotations

import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pytest

from hangulgan import hangul
from hangulgan.errors import ConfigError
from hangulgan.ocr import text as text_module
from hangulgan.ocr.text import RealText, closes_on_consonant, read_text, sentences, word_list

ROOT = Path(__file__).resolve().parents[1]
WORDS = ROOT / "hangulgan" / "ocr" / "data" / "korean-words.tsv"
SCRIPT = ROOT / "scripts" / "derive_korean_words.py"


def test_shipped_word_list_is_what_the_script_derives(tmp_path):
    pytest.importorskip("wordfreq")
    out = tmp_path / "words.tsv"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == WORDS.read_bytes()


def test_data_files_name_their_source_and_licence_and_ship():
    header = "\n".join(
        line for line in WORDS.read_text(encoding="utf-8").splitlines() if line[:1] == "#"
    )
    for needed in ("wordfreq 3.1.1", "small_ko", "CC BY-SA 4.0", "Robyn Speer", SCRIPT.name):
        assert needed in header
    tokens, weights = word_list()
    assert len(tokens) > 25000 and (np.diff(weights) <= 0).all()
    assert not any(set(t) <= set("0123456789") for t in tokens)  # wordfreq's zeroed numbers
    lines = sentences()
    assert lines[0] == "대한민국헌법" and "제1조 ① 대한민국은 민주공화국이다." in lines
    tomllib = pytest.importorskip("tomllib")
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = data["package-data"]["hangulgan.ocr"]
    for name in (text_module.WORD_LIST, text_module.SENTENCES):
        assert any(fnmatch(name, p) for p in patterns)


def test_particles_agree_with_the_last_syllable():
    assert closes_on_consonant("학") and not closes_on_consonant("교")
    real = RealText()
    rng = np.random.default_rng(0)
    for noun, form in (("학교", 1), ("사람", 0)):  # 교 ends on a vowel, 람 on a consonant
        real.korean, real.korean_cdf = [noun], np.array([1.0])
        words = {real.korean_word(rng) for _ in range(400)}
        allowed = {noun} | {noun + pair[form] for pair in text_module.PARTICLES}
        assert words <= allowed and len(words) > 10


def test_real_text_mixes_scripts_as_korean_writing_does():
    real = RealText()
    rng = np.random.default_rng(1)
    words = [real.word(rng) for _ in range(3000)]
    lines = [real.line(rng) for _ in range(500)]

    def share(items, test):
        return sum(map(test, items)) / len(items)

    hangul_only = share(words, lambda w: all(hangul.is_syllable(ord(c)) for c in w))
    assert 0.5 < hangul_only < 0.9
    assert share(words, lambda w: any(c.isdigit() for c in w)) > 0.05
    assert share(words, lambda w: any(c.isascii() and c.isalpha() for c in w)) > 0.03
    assert share(words, lambda w: any(c in "()「」『』\"'[]<>《》〈〉“”‘’" for c in w)) > 0.02
    assert any("원" in w and any(c.isdigit() for c in w) for w in words)  # prices
    assert any("://" in w or w.startswith("www.") for w in words)  # URLs
    assert 15 <= np.mean([len(line) for line in lines]) <= 30
    assert share(lines, lambda line: " " in line) > 0.9


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"\xff\xfe\x00", "not UTF-8"), (b"  \n\n", "holds no text"), (b"", "holds no text")],
)
def test_read_text_refuses_with_the_file_named(tmp_path, content, problem):
    path = tmp_path / "t.txt"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=rf"^{path}: {problem}"):
        read_text(path, "lines")


def test_read_text_normalises():
    lines = read_text_from("\ufeff한글  글꼴\n\n  값이\t1,000원 \n")
    assert lines == ["한글 글꼴", "값이 1,000원"]


def read_text_from(content: str) -> list[str]:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.write(content)
    try:
        return read_text(f.name, "lines")
    finally:
        Path(f.name).unlink()
