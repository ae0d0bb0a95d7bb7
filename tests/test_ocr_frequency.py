"""The OCR sampler's syllable frequencies: the shipped table is what its script derives
from wordfreq, it looks like Korean, the sampler follows it, and syllables it lacks are
still drawn, rarely."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pytest

from hangulgan import hangul
from hangulgan.errors import ConfigError
from hangulgan.ocr import text as text_module
from hangulgan.ocr.text import (
    FLOOR_KSX1001,
    FLOOR_OTHER,
    Sampler,
    TextShape,
    parse_frequency_table,
    syllable_frequency,
    syllable_weights,
)

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "hangulgan" / "ocr" / "data" / "syllable-frequency.tsv"
SCRIPT = ROOT / "scripts" / "derive_syllable_frequency.py"
ALL = np.arange(hangul.FIRST, hangul.LAST + 1)


def draw(codepoints, n: int, seed: int = 0) -> Counter[str]:
    """``n`` syllables from the built-in sampler over a source holding ``codepoints``."""
    sampler = Sampler(np.asarray(codepoints), "fake", TextShape(word_syllables=(1000, 1000)))
    rng = np.random.default_rng(seed)
    return Counter("".join(sampler.word(rng) for _ in range(n // 1000)))


def ranked() -> list[str]:
    table = syllable_frequency()
    return [chr(cp) for cp in sorted(table, key=lambda cp: -table[cp])]


def test_shipped_table_is_what_the_script_derives(tmp_path):
    pytest.importorskip("wordfreq")
    out = tmp_path / "table.tsv"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == TABLE.read_bytes()


def test_table_names_its_source_licence_and_command():
    header = [line for line in TABLE.read_text(encoding="utf-8").splitlines() if line[:1] == "#"]
    text = "\n".join(header)
    for needed in ("wordfreq 3.1.1", "small_ko", "CC BY-SA 4.0", "Robyn Speer", "OpenSubtitles"):
        assert needed in text
    assert "python scripts/derive_syllable_frequency.py" in text


def test_table_looks_like_korean():
    table = syllable_frequency()
    order = ranked()
    assert 1000 < len(table) < 3000
    assert abs(sum(table.values()) - 1e6) < 10  # counts per million, rounded per row
    for common in "이다의":
        assert common in order[:20]
    # the rows are written most frequent first
    rows = [line.split("\t") for line in TABLE.read_text(encoding="utf-8").splitlines()]
    values = [float(value) for syllable, value in (r for r in rows if not r[0].startswith("#"))]
    assert values == sorted(values, reverse=True)
    # a rare-but-real syllable is far below a particle
    assert table[ord("이")] > 1000 * table.get(ord("뷁"), min(table.values()))


def test_sampled_stream_follows_the_table():
    table = syllable_frequency()
    order = ranked()
    n = 20_000
    counts = draw(ALL, n)
    top = [ch for ch, _ in counts.most_common(10)]
    assert top[0] in order[:5]
    assert len(set(top) & set(order[:10])) >= 7
    total = sum(syllable_weights(ALL))
    for ch in order[:20]:
        p = table[ord(ch)] / total
        assert abs(counts[ch] - n * p) < 5 * np.sqrt(n * p * (1 - p)), ch


def test_unlisted_syllables_are_drawn_but_rarely():
    table = syllable_frequency()
    rarest = min(table.values())
    weights = syllable_weights(ALL)
    listed = np.isin(ALL, list(table))
    ks = np.isin(ALL, hangul.ksx1001_syllables())
    assert (weights > 0).all()  # every syllable can be drawn
    assert np.allclose(weights[~listed & ks], FLOOR_KSX1001 * rarest)
    assert np.allclose(weights[~listed & ~ks], FLOOR_OTHER * rarest)
    assert (weights[~listed] < rarest).all()
    n = 200_000
    counts = draw(ALL, n, seed=1)
    unlisted = sum(c for ch, c in counts.items() if ord(ch) not in table)
    assert 0 < unlisted < n / 1000
    # a source holding only unlisted syllables still gives words
    rare = ALL[~listed][:50]
    assert set(draw(rare, 1000)) <= {chr(cp) for cp in rare.tolist()}


def test_characters_other_than_syllables_weigh_nothing():
    weights = syllable_weights(np.array([ord("A"), 0x3131, 0x1100, ord("가"), ord(" ")]))
    assert weights.tolist()[:3] == [0, 0, 0] and weights[3] > 0 and weights[4] == 0
    with pytest.raises(ConfigError, match="no Hangul syllable"):
        Sampler(np.array([ord("A"), ord("B")]), "fake")


@pytest.mark.parametrize(
    "text, error",
    [
        ("# only a comment\n", "holds no syllable"),
        ("가\t12\nA\t3\n", ":2: not a Hangul syllable"),
        ("가\tmany\n", ":1: not a Hangul syllable"),
        ("가\t0\n", ":1: not a Hangul syllable"),
        ("가\t1\n가\t2\n", ":2: 가 is listed twice"),
    ],
)
def test_a_broken_table_is_one_clear_error(text, error):
    with pytest.raises(ConfigError, match=error):
        parse_frequency_table(text, "table.tsv")


def test_table_ships_as_package_data():
    tomllib = pytest.importorskip("tomllib")
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]
    relative = TABLE.relative_to(ROOT / "hangulgan" / "ocr").as_posix()
    assert relative == text_module.FREQUENCY_TABLE
    assert any(fnmatch(relative, pattern) for pattern in package_data.get("hangulgan.ocr", []))
