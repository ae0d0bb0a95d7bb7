"""The Hangul syllable model: 11,172 = 19 initials × 21 medials × 28 finals.

Syllable index = (initial × 21 + medial) × 28 + final, code point = U+AC00 + index.
Named charsets select which syllables a corpus or glyph set holds.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

FIRST = 0xAC00
LAST = 0xD7A3
N_INITIALS, N_MEDIALS, N_FINALS = 19, 21, 28
N_SYLLABLES = N_INITIALS * N_MEDIALS * N_FINALS  # 11,172

INITIALS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
MEDIALS = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
FINALS = " ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"  # index 0 = no final

# The 16 syllables the original examples trained on.
SEED_SYLLABLES = "가나다라마바아사자차타파하전미정"

CHARSET_NAMES = ("all", "ksx1001", "seed16")


def is_syllable(codepoint: int) -> bool:
    """True for a precomposed Hangul syllable (U+AC00..U+D7A3)."""
    return FIRST <= codepoint <= LAST


def syllable_index(codepoint: int) -> int:
    """0-based index of a syllable in U+AC00..U+D7A3."""
    if not is_syllable(codepoint):
        raise ValueError(f"U+{codepoint:04X} is not a Hangul syllable")
    return codepoint - FIRST


def compose(initial: int, medial: int, final: int = 0) -> str:
    """Compose jamo indices (initial 0..18, medial 0..20, final 0..27; 0 = none) into a syllable."""
    if not (0 <= initial < N_INITIALS and 0 <= medial < N_MEDIALS and 0 <= final < N_FINALS):
        raise ValueError(f"jamo indices out of range: ({initial}, {medial}, {final})")
    return chr(FIRST + (initial * N_MEDIALS + medial) * N_FINALS + final)


def decompose(syllable: str | int) -> tuple[int, int, int]:
    """Split a syllable (character or code point) into its (initial, medial, final) indices."""
    index = syllable_index(ord(syllable) if isinstance(syllable, str) else syllable)
    return index // (N_MEDIALS * N_FINALS), (index // N_FINALS) % N_MEDIALS, index % N_FINALS


def jamo_table(codepoints: np.ndarray) -> np.ndarray:
    """Vectorised :func:`decompose`: an (N, 3) int64 array of jamo indices."""
    index = np.asarray(codepoints, dtype=np.int64) - FIRST
    if index.size and (index.min() < 0 or index.max() >= N_SYLLABLES):
        raise ValueError("jamo_table takes Hangul syllables only")
    return np.stack(
        [index // (N_MEDIALS * N_FINALS), (index // N_FINALS) % N_MEDIALS, index % N_FINALS],
        axis=-1,
    )


def all_syllables() -> list[int]:
    """All 11,172 syllable code points in Unicode order."""
    return list(range(FIRST, LAST + 1))


@lru_cache(maxsize=1)
def _ksx1001() -> tuple[int, ...]:
    # KS X 1001 is EUC-KR's two-byte repertoire. Python's codec writes the other syllables as
    # 8-byte jamo sequences (the KS X 1001 annex), so a syllable is in the set when it encodes
    # to exactly two bytes.
    return tuple(cp for cp in range(FIRST, LAST + 1) if len(chr(cp).encode("euc_kr")) == 2)


def ksx1001_syllables() -> list[int]:
    """The 2,350 syllables of KS X 1001, derived from Python's euc_kr codec."""
    return list(_ksx1001())


def charset_from_text(text: str, source: str = "text") -> list[int]:
    """The distinct Hangul syllables of a text, in Unicode order (other characters are ignored)."""
    found = sorted({ord(ch) for ch in text if is_syllable(ord(ch))})
    if not found:
        raise ValueError(f"{source}: holds no Hangul syllable (U+AC00..U+D7A3)")
    return found


def resolve_charset(spec: str) -> list[int]:
    """Resolve a charset name (``all``, ``ksx1001``, ``seed16``) or a UTF-8 text file path."""
    if spec == "all":
        return all_syllables()
    if spec == "ksx1001":
        return ksx1001_syllables()
    if spec == "seed16":
        return charset_from_text(SEED_SYLLABLES)
    path = Path(spec)
    if not path.is_file():
        raise ValueError(
            f"{spec}: not a charset name ({', '.join(CHARSET_NAMES)}) nor a readable text file"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: charset file is not UTF-8 ({err.reason})") from None
    return charset_from_text(text, source=str(path))
