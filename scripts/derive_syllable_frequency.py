"""Derive the OCR sampler's Hangul syllable frequencies from wordfreq's Korean word list.

    python scripts/derive_syllable_frequency.py [--out FILE]

wordfreq (pip install wordfreq==3.1.1, in hangulgan's ``dev`` extras) ships
``small_ko.msgpack.gz``: about 30,000 Korean tokens with their frequencies, compiled from
Wikipedia, OPUS OpenSubtitles 2018, Twitter and Reddit (the four Korean sources of
wordfreq's README). A syllable's frequency is the sum,
over the tokens, of the token's frequency times the number of times the syllable occurs
in it; the sums are normalised to counts per million Hangul syllables. Only the 11,172
precomposed syllables (U+AC00-U+D7A3) are counted; digits, Latin and jamo are not.

The output (default: the table hangulgan ships, hangulgan/ocr/data/syllable-frequency.tsv)
has ``#`` comment lines with the source, the command and the licence, then one
``syllable<TAB>count per million`` row per syllable seen, most frequent first. The table
is data derived from wordfreq's lists, so it carries their licence, CC BY-SA 4.0.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing it

from wordfreq_source import WORDFREQ_VERSION, korean_frequencies  # noqa: E402

from hangulgan.io import write_bytes_atomic  # noqa: E402

TABLE = ROOT / "hangulgan" / "ocr" / "data" / "syllable-frequency.tsv"
FIRST, LAST = 0xAC00, 0xD7A3
COMMAND = "python scripts/derive_syllable_frequency.py"

HEADER = f"""\
# Hangul syllable frequencies, in counts per million syllables of Korean text.
# source: wordfreq {WORDFREQ_VERSION}, Korean list small_ko (wordfreq.get_frequency_dict('ko',
#   wordlist='small')), compiled by Robyn Speer from Wikipedia, OPUS OpenSubtitles 2018,
#   Twitter and Reddit: https://github.com/rspeer/wordfreq
#   Robyn Speer. (2022). rspeer/wordfreq: v3.0 (v3.0.2). Zenodo.
#   https://doi.org/10.5281/zenodo.7199437
# derived: each syllable's frequency is the sum over tokens of the token's frequency times
#   the syllable's occurrences in it, normalised over U+AC00-U+D7A3; made by
#   {COMMAND}
# licence: CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/), as wordfreq's
#   data; this table is an adaptation of it and is shared under the same licence.
#   Contains data from OPUS OpenSubtitles 2018 (http://opus.nlpl.eu/OpenSubtitles.php),
#   whose data originates from the OpenSubtitles project (http://www.opensubtitles.org/),
#   and from Wikipedia, the free encyclopedia (http://www.wikipedia.org).
# syllable\tper_million
"""


def syllable_counts(frequencies: dict[str, float]) -> Counter[str]:
    """Frequency-weighted occurrences of each Hangul syllable in ``frequencies``' tokens."""
    counts: Counter[str] = Counter()
    for token, frequency in frequencies.items():
        for ch in token:
            if FIRST <= ord(ch) <= LAST:
                counts[ch] += frequency
    return counts


def table_text(counts: Counter[str]) -> str:
    """The TSV: header, then rows in counts per million, most frequent first (ties by
    code point, so the file is the same on every run)."""
    total = sum(counts.values())
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    # two decimals keep the rarest rows (under 1 per million) within 1% of their value
    body = "".join(f"{ch}\t{count / total * 1e6:.2f}\n" for ch, count in rows)
    return HEADER + body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=TABLE, help=f"default: {TABLE}")
    args = parser.parse_args()
    frequencies = korean_frequencies("table")
    if frequencies is None:
        return 2
    counts = syllable_counts(frequencies)
    write_bytes_atomic(args.out, table_text(counts).encode("utf-8"))
    print(f"{args.out}: {len(counts)} syllables")
    return 0


if __name__ == "__main__":
    sys.exit(main())
