"""The text that OCR samples show: a user's file, or real Korean from the shipped data.

Built-in text (``--sampler real``, the default) mixes scripts as Korean writing does:

- **words**: Korean tokens drawn by frequency from ``data/korean-words.tsv`` (wordfreq's
  Korean list, tokens cut by MeCab, so a noun of two or more syllables takes a particle
  now and then, chosen by whether its last syllable closes on a consonant: 학교에서,
  사람이, 글꼴을); words as written in a real text (``data/constitution-ko.txt``, the
  Korean Constitution, which copyright does not cover); and the things printed Korean is
  full of: prices (1,000원, ₩25,000, $3.50), dates (2024년 3월 1일, 2024.03.01.), times,
  phone numbers, URLs and e-mail addresses, units, percentages, Latin words, and words in
  brackets or quotes or followed by punctuation.
- **lines**: runs of the Constitution's sentences, and lines of the words above, about
  ``line_chars`` characters long.

``--sampler syllables`` keeps the earlier sampler: syllables drawn one by one by their
frequency in Korean text (``data/syllable-frequency.tsv``), so words are not words.
"""

from __future__ import annotations

import functools
import importlib.resources
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hangulgan import hangul
from hangulgan.errors import ConfigError

WORD_LIST = "data/korean-words.tsv"
SENTENCES = "data/constitution-ko.txt"
SAMPLERS = ("real", "syllables")


def read_text(path: str | Path, kind: str) -> list[str]:
    """The samples of a UTF-8 text file, NFC: its non-blank lines with runs of white space
    as one space (``--kind syllables``: its distinct characters). ConfigError naming the
    file when it is missing, not UTF-8, or holds no text."""
    path = Path(path)
    try:
        raw = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such text file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: a folder, not a text file") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 (byte {err.start}: {err.reason})") from None
    except OSError as err:
        raise ConfigError(f"{path}: unreadable ({err.strerror or err})") from None
    raw = raw.removeprefix("\ufeff")  # a byte-order mark is no character of the text
    lines = [" ".join(line.split()) for line in unicodedata.normalize("NFC", raw).splitlines()]
    lines = [line for line in lines if line]
    if kind == "syllables":
        lines = sorted({ch for line in lines for ch in line if ch != " "})
    if not lines:
        raise ConfigError(f"{path}: holds no text (every line is blank)")
    return lines


# --------------------------------------------------------------------------- shipped data


def _resource_text(name: str) -> str:
    resource = importlib.resources.files("hangulgan.ocr").joinpath(name)
    try:
        return resource.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read the shipped text {resource}: {err}") from None


@functools.lru_cache(maxsize=1)
def word_list() -> tuple[tuple[str, ...], np.ndarray]:
    """The shipped Korean tokens and their frequencies (per million), most frequent first."""
    tokens: list[str] = []
    weights: list[float] = []
    for number, line in enumerate(_resource_text(WORD_LIST).splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        token, _, value = line.partition("\t")
        try:
            weights.append(float(value))
        except ValueError:
            raise ConfigError(f"{WORD_LIST}:{number}: not token<TAB>frequency") from None
        tokens.append(token)
    return tuple(tokens), np.asarray(weights)


@functools.lru_cache(maxsize=1)
def sentences() -> tuple[str, ...]:
    """The lines of the shipped real text (the Korean Constitution)."""
    lines = _resource_text(SENTENCES).splitlines()
    return tuple(line for line in lines if line and not line.startswith("#"))


def closes_on_consonant(syllable: str) -> bool:
    """Whether a Hangul syllable has a final consonant (받침): 학 yes, 교 no."""
    cp = ord(syllable)
    return hangul.FIRST <= cp <= hangul.LAST and (cp - hangul.FIRST) % 28 != 0


# particles by what they follow: (after a final consonant, after a vowel)
PARTICLES = (
    ("이", "가"), ("은", "는"), ("을", "를"), ("과", "와"), ("으로", "로"), ("이나", "나"),
    ("에", "에"), ("에서", "에서"), ("의", "의"), ("도", "도"), ("만", "만"), ("까지", "까지"),
    ("부터", "부터"), ("에게", "에게"), ("처럼", "처럼"), ("보다", "보다"), ("이다", "다"),
)  # fmt: skip
BRACKETS = (("(", ")"), ("[", "]"), ("「", "」"), ("『", "』"), ("“", "”"), ('"', '"'), ("'", "'"),
            ("<", ">"), ("《", "》"), ("〈", "〉"), ("‘", "’"))  # fmt: skip
TRAILING = (",", ".", "?", "!", "…", ":", ";", "~", "·")
SYMBOLS = ("※", "★", "☆", "→", "▶", "■", "●", "◆", "#", "&", "+", "=", "/", "*", "-", "%")
UNITS = ("kg", "km", "cm", "mm", "ml", "L", "m²", "GB", "MB", "℃", "%", "개", "명", "원", "회")
DOMAINS = ("com", "co.kr", "kr", "net", "org", "or.kr", "go.kr", "io")


class RealText:
    """Words and lines of real Korean with the scripts it mixes (see the module)."""

    def __init__(self, line_chars: tuple[int, int] = (12, 28)) -> None:
        tokens, weights = word_list()
        hangul_only = np.array([all(hangul.is_syllable(ord(c)) for c in t) for t in tokens])
        latin = np.array([t.isascii() and t.isalpha() and len(t) >= 2 for t in tokens])
        self.korean = [t for t, keep in zip(tokens, hangul_only, strict=True) if keep]
        self.korean_cdf = _cdf(weights[hangul_only])
        self.latin = [t for t, keep in zip(tokens, latin, strict=True) if keep]
        self.latin_cdf = _cdf(weights[latin])
        self.lines = sentences()
        self.written = [w for line in self.lines for w in line.split()]
        self.line_chars = line_chars
        # what a word is, with its share of the words drawn
        self.makers: list[tuple[float, Callable[[np.random.Generator], str]]] = [
            (0.42, self.korean_word),
            (0.23, lambda rng: self.written[int(rng.integers(len(self.written)))]),
            (0.20, self.mixed_token),
            (0.10, self.punctuated),
            (0.05, self.latin_word),
        ]
        self.maker_cdf = _cdf(np.array([share for share, _ in self.makers]))

    def korean_word(self, rng: np.random.Generator) -> str:
        """A Korean token by its frequency; a noun-like one (two syllables or more) takes
        a particle a third of the time."""
        token = self.korean[_pick(self.korean_cdf, rng)]
        if len(token) >= 2 and rng.random() < 1 / 3:
            closed, open_ = PARTICLES[int(rng.integers(len(PARTICLES)))]
            token += closed if closes_on_consonant(token[-1]) else open_
        return token

    def latin_word(self, rng: np.random.Generator) -> str:
        """A Latin-script token of the Korean list, as found or capitalised."""
        word = self.latin[_pick(self.latin_cdf, rng)]
        form = rng.random()
        return word.upper() if form < 0.3 else word.capitalize() if form < 0.5 else word

    def punctuated(self, rng: np.random.Generator) -> str:
        """A Korean word in brackets or quotes, or followed by punctuation."""
        word = self.korean_word(rng)
        if rng.random() < 0.5:
            left, right = BRACKETS[int(rng.integers(len(BRACKETS)))]
            return f"{left}{word}{right}"
        return word + TRAILING[int(rng.integers(len(TRAILING)))]

    def mixed_token(self, rng: np.random.Generator) -> str:
        """A price, date, time, phone number, URL, e-mail address, measure, percentage
        or symbol, the way Korean text prints them."""
        kind = int(rng.integers(10))
        n = int(rng.integers(1, 10 ** int(rng.integers(1, 7))))
        year, month, day = int(rng.integers(1950, 2031)), int(rng.integers(1, 13)), 0
        day = int(rng.integers(1, 29))
        if kind == 0:
            price = n * (10 if rng.random() < 0.7 else 1)
            forms = (f"{price:,}원", f"₩{price:,}", f"${n / 100:,.2f}", f"{price:,}", f"{n}만 원")
            return forms[int(rng.integers(len(forms)))]
        if kind == 1:
            forms = (
                f"{year}년 {month}월 {day}일", f"{year}.{month:02d}.{day:02d}.",
                f"{year}-{month:02d}-{day:02d}", f"{month}/{day}", f"{month}월 {day}일",
                f"'{year % 100:02d}년",
            )  # fmt: skip
            return forms[int(rng.integers(len(forms)))]
        if kind == 2:
            hour, minute = int(rng.integers(0, 24)), int(rng.integers(0, 60))
            forms = (f"{hour:02d}:{minute:02d}", f"오후 {hour % 12 + 1}:{minute:02d}",
                     f"{hour}시 {minute}분", f"{hour:02d}:00~{(hour + 8) % 24:02d}:00")  # fmt: skip
            return forms[int(rng.integers(len(forms)))]
        if kind == 3:
            a, b = int(rng.integers(1000, 10000)), int(rng.integers(1000, 10000))
            return f"010-{a}-{b}" if rng.random() < 0.7 else f"02-{a % 1000}-{b}"
        if kind == 4:
            host = self.latin[_pick(self.latin_cdf, rng)].lower()
            path = self.latin[_pick(self.latin_cdf, rng)].lower()
            domain = DOMAINS[int(rng.integers(len(DOMAINS)))]
            forms = (f"https://{host}.{domain}/{path}", f"www.{host}.{domain}",
                     f"{path}@{host}.{domain}", f"{host}.{domain}")  # fmt: skip
            return forms[int(rng.integers(len(forms)))]
        if kind == 5:
            unit = UNITS[int(rng.integers(len(UNITS)))]
            value = f"{n / 10:g}" if rng.random() < 0.4 else f"{n % 1000}"
            return f"{value}{unit}"
        if kind == 6:
            return f"{rng.uniform(0, 100):.1f}%" if rng.random() < 0.5 else f"{n % 101}%"
        if kind == 7:
            return SYMBOLS[int(rng.integers(len(SYMBOLS)))]
        if kind == 8:
            return f"제{n % 200 + 1}조" if rng.random() < 0.5 else f"{n % 30 + 1}."
        return f"{n:,}" if rng.random() < 0.5 else str(n)

    def word(self, rng: np.random.Generator) -> str:
        """One word, of the kinds above by their shares."""
        return self.makers[_pick(self.maker_cdf, rng)][1](rng)

    def line(self, rng: np.random.Generator) -> str:
        """A line of about ``line_chars`` characters: consecutive words of the real text
        (two times in five), else words drawn one by one, the last sometimes followed by
        a full stop or question mark."""
        low, high = self.line_chars
        want = int(rng.integers(low, high + 1))
        if rng.random() < 0.4:
            source = self.lines[int(rng.integers(len(self.lines)))].split()
            start = int(rng.integers(len(source)))
            words: list[str] = []
            for word in source[start:]:
                if words and len(" ".join([*words, word])) > want:
                    break
                words.append(word)
            if len(" ".join(words)) >= low or start == 0:
                return " ".join(words)
        words = []
        while not words or len(" ".join(words)) < want:
            words.append(self.word(rng))
        line = " ".join(words)
        if rng.random() < 0.3 and line[-1].isalnum():
            line += "." if rng.random() < 0.8 else "?"
        return line


# The built-in sampler's syllable frequencies: counts per million syllables of Korean
# text, derived from wordfreq 3.1.1's Korean word list (CC BY-SA 4.0; the file's header
# gives source, licence and attribution) by scripts/derive_syllable_frequency.py.
FREQUENCY_TABLE = "data/syllable-frequency.tsv"
# Weight of a syllable the table lacks, as a fraction of the table's smallest entry. A
# syllable missing from ~30,000 tokens of Korean is rarer than any it holds, so it weighs
# less than the rarest one; it is not zero, so that a recognizer still sees it now and then.
# KS X 1001's 2,350 were chosen as the syllables in everyday use, so one of them that the
# list missed is likelier in real text than one of the other 8,822 (mostly never written):
# 10x. With the shipped table the unlisted syllables of a full face take about 1.2 of every
# 10,000 draws (tests/test_ocr_frequency.py).
FLOOR_KSX1001 = 0.1
FLOOR_OTHER = 0.01


def parse_frequency_table(text: str, where: str) -> dict[int, float]:
    """Code point → frequency from a table's text: ``#`` comment lines, then
    ``syllable<TAB>frequency`` rows (ConfigError, naming ``where`` and the line, for a row
    that is not one Hangul syllable and a positive number, and for a table with no row)."""
    table: dict[int, float] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        syllable, _, value = line.partition("\t")
        try:
            frequency = float(value)
        except ValueError:
            frequency = -1.0
        if (
            len(syllable) != 1
            or not hangul.FIRST <= ord(syllable) <= hangul.LAST
            or not 0 < frequency < float("inf")
        ):
            raise ConfigError(f"{where}:{number}: not a Hangul syllable and a positive frequency")
        if ord(syllable) in table:
            raise ConfigError(f"{where}:{number}: {syllable} is listed twice")
        table[ord(syllable)] = frequency
    if not table:
        raise ConfigError(f"{where}: holds no syllable")
    return table


@functools.lru_cache(maxsize=1)
def syllable_frequency() -> dict[int, float]:
    """The shipped table of Hangul syllable frequencies: code point → count per million
    syllables of Korean text (read once, then cached). Only syllables seen in the source
    word list are in it."""
    resource = importlib.resources.files("hangulgan.ocr").joinpath(FREQUENCY_TABLE)
    try:
        text = resource.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read the syllable frequency table {resource}: {err}") from None
    return parse_frequency_table(text, str(resource))


def syllable_weights(codepoints: np.ndarray) -> np.ndarray:
    """Sampling weights of characters by Korean frequency (:func:`syllable_frequency`): a
    syllable in the table weighs its count per million; one the table lacks weighs
    :data:`FLOOR_KSX1001` (a KS X 1001 syllable) or :data:`FLOOR_OTHER` times the table's
    smallest count. Other characters weigh 0."""
    cps = np.asarray(codepoints, dtype=np.int64)
    weights = np.zeros(len(cps), dtype=np.float64)
    hangul_mask = (cps >= hangul.FIRST) & (cps <= hangul.LAST)
    if not hangul_mask.any():
        return weights
    table = syllable_frequency()
    rarest = min(table.values())
    syllables = cps[hangul_mask]
    ks = np.isin(syllables, np.asarray(hangul.ksx1001_syllables()))
    floor = np.where(ks, FLOOR_KSX1001, FLOOR_OTHER) * rarest
    listed = np.array([table.get(cp, 0.0) for cp in syllables.tolist()], dtype=np.float64)
    weights[hangul_mask] = np.where(listed > 0, listed, floor)
    return weights


@dataclass(frozen=True)
class TextShape:
    """Lengths of the built-in sampler's texts."""

    word_syllables: tuple[int, int] = (2, 6)  # inclusive
    line_words: tuple[int, int] = (2, 6)
    line_word_syllables: tuple[int, int] = (1, 4)


class Sampler:
    """Draws words or lines from a source's Hangul syllables (``codepoints``), each
    syllable drawn independently with :func:`syllable_weights` (Korean syllable frequency;
    no model of which syllables follow which, so the words are not real words)."""

    def __init__(
        self, codepoints: np.ndarray, name: str = "source", shape: TextShape | None = None
    ) -> None:
        self.shape = shape or TextShape()
        codepoints = np.asarray(codepoints, dtype=np.int64)
        weights = syllable_weights(codepoints)
        if weights.sum() <= 0:
            raise ConfigError(f"{name}: draws no Hangul syllable to sample words from")
        keep = weights > 0
        self.chars = np.array([chr(c) for c in codepoints[keep].tolist()])
        cumulative = np.cumsum(weights[keep])
        self.cumulative = cumulative / cumulative[-1]

    def _syllables(self, rng: np.random.Generator, n: int) -> str:
        picks = np.searchsorted(self.cumulative, rng.random(n), side="right")
        return "".join(self.chars[np.minimum(picks, len(self.chars) - 1)])

    def word(self, rng: np.random.Generator) -> str:
        """A word of ``word_syllables`` syllables."""
        low, high = self.shape.word_syllables
        return self._syllables(rng, int(rng.integers(low, high + 1)))

    def line(self, rng: np.random.Generator) -> str:
        """Words of ``line_word_syllables`` syllables joined by spaces."""
        low, high = self.shape.line_words
        wlow, whigh = self.shape.line_word_syllables
        return " ".join(
            self._syllables(rng, int(rng.integers(wlow, whigh + 1)))
            for _ in range(int(rng.integers(low, high + 1)))
        )


def _cdf(weights: np.ndarray) -> np.ndarray:
    cumulative = np.cumsum(np.asarray(weights, dtype=np.float64))
    return cumulative / cumulative[-1]


def _pick(cdf: np.ndarray, rng: np.random.Generator) -> int:
    return min(int(np.searchsorted(cdf, rng.random(), side="right")), len(cdf) - 1)
