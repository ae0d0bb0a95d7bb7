"""Derive the OCR text's Korean word list from wordfreq's Korean word list.

    python scripts/derive_korean_words.py [--out FILE]

wordfreq (pip install wordfreq==3.1.1, in hangulgan's ``dev`` extras) ships
``small_ko.msgpack.gz``: about 30,000 Korean tokens with their frequencies, compiled from
Wikipedia, OPUS OpenSubtitles 2018, Twitter and Reddit, cut into morphemes by MeCab (so a
noun and its particle are two tokens). Every token is kept as it is, Hangul or not: the
list's Latin words and symbols (tv, km, ▶) are part of written Korean too. Only numbers
are left out: wordfreq writes every digit of a number of two or more digits as 0
("2019" is "0000"), so its number tokens are not what was written.

The output (default: the list hangulgan ships, hangulgan/ocr/data/korean-words.tsv) has
``#`` comment lines with the source, the command and the licence, then one
``token<TAB>count per million tokens`` row per token, most frequent first. It is data
derived from wordfreq's lists, so it carries their licence, CC BY-SA 4.0.
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing it

from wordfreq_source import WORDFREQ_VERSION, korean_frequencies  # noqa: E402

from hangulgan.io import write_bytes_atomic  # noqa: E402

WORDS = ROOT / "hangulgan" / "ocr" / "data" / "korean-words.tsv"
COMMAND = "python scripts/derive_korean_words.py"

HEADER = f"""\
# Korean tokens and their frequencies, in counts per million tokens of Korean text.
# source: wordfreq {WORDFREQ_VERSION}, Korean list small_ko (wordfreq.get_frequency_dict('ko',
#   wordlist='small')), compiled by Robyn Speer from Wikipedia, OPUS OpenSubtitles 2018,
#   Twitter and Reddit: https://github.com/rspeer/wordfreq
#   Robyn Speer. (2022). rspeer/wordfreq: v3.0 (v3.0.2). Zenodo.
#   https://doi.org/10.5281/zenodo.7199437
# derived: every token of the list but numbers (wordfreq writes their digits as 0), NFC,
#   most frequent first (ties by the token), its frequency times one million; made by
#   {COMMAND}
# licence: CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/), as wordfreq's
#   data; this list is an adaptation of it and is shared under the same licence.
#   Contains data from OPUS OpenSubtitles 2018 (http://opus.nlpl.eu/OpenSubtitles.php),
#   whose data originates from the OpenSubtitles project (http://www.opensubtitles.org/),
#   and from Wikipedia, the free encyclopedia (http://www.wikipedia.org).
# token\tper_million
"""


def list_text(frequencies: dict[str, float]) -> str:
    """The TSV: header, then the printable tokens in counts per million, most frequent
    first (ties by token, so the file is the same on every run)."""
    merged: dict[str, float] = {}
    for token, frequency in frequencies.items():
        token = unicodedata.normalize("NFC", token)
        if set(token) <= set("0123456789"):
            continue  # numbers: wordfreq smashed their digits to zeros
        if token and token.isprintable() and not any(ch.isspace() for ch in token):
            merged[token] = merged.get(token, 0.0) + frequency
    rows = sorted(merged.items(), key=lambda item: (-item[1], item[0]))
    # four significant digits: the rarest tokens (about 1 per million) keep their ratios
    body = "".join(f"{token}\t{frequency * 1e6:.4g}\n" for token, frequency in rows)
    return HEADER + body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=WORDS, help=f"default: {WORDS}")
    args = parser.parse_args()
    frequencies = korean_frequencies("list")
    if frequencies is None:
        return 2
    text = list_text(frequencies)
    write_bytes_atomic(args.out, text.encode("utf-8"))
    print(f"{args.out}: {text.count(chr(10)) - HEADER.count(chr(10))} tokens")
    return 0


if __name__ == "__main__":
    sys.exit(main())
