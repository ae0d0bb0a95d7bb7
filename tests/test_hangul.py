import numpy as np
import pytest

from hangulgan import hangul


def test_compose_decompose_round_trip_over_all_syllables():
    for cp in hangul.all_syllables():
        assert ord(hangul.compose(*hangul.decompose(cp))) == cp


def test_known_decompositions():
    assert hangul.decompose("가") == (0, 0, 0)
    assert hangul.decompose("한") == (18, 0, 4)  # ㅎ ㅏ ㄴ
    assert hangul.decompose("힣") == (18, 20, 27)
    assert hangul.compose(0, 0, 1) == "각"


def test_jamo_table_matches_decompose():
    cps = np.array([ord(c) for c in "가한글똠힣"])
    table = hangul.jamo_table(cps)
    assert [tuple(row) for row in table] == [hangul.decompose(int(c)) for c in cps]


def test_counts_and_ksx1001_membership():
    assert len(hangul.all_syllables()) == 11_172 == hangul.N_SYLLABLES
    ks = hangul.ksx1001_syllables()
    assert len(ks) == 2_350
    assert ord("가") in ks and ord("힝") in ks
    assert ord("똠") not in ks  # famously missing from KS X 1001
    assert ks == sorted(ks)


def test_charsets_by_name_and_file(tmp_path):
    assert hangul.resolve_charset("seed16") == sorted(ord(c) for c in hangul.SEED_SYLLABLES)
    path = tmp_path / "chars.txt"
    path.write_text("한글 ABC 한\n", encoding="utf-8")
    assert hangul.resolve_charset(str(path)) == [ord("글"), ord("한")]


def test_charset_errors_name_the_file(tmp_path):
    with pytest.raises(ValueError, match="not a charset name"):
        hangul.resolve_charset("nope")
    latin = tmp_path / "latin.txt"
    latin.write_text("abc", encoding="utf-8")
    with pytest.raises(ValueError, match="latin.txt: holds no Hangul"):
        hangul.resolve_charset(str(latin))
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00\x80")
    with pytest.raises(ValueError, match="bin.txt: charset file is not UTF-8"):
        hangul.resolve_charset(str(binary))


def test_invalid_inputs():
    with pytest.raises(ValueError):
        hangul.decompose("A")
    with pytest.raises(ValueError):
        hangul.compose(19, 0, 0)
