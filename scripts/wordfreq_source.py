"""wordfreq's Korean list, as both derivation scripts read it (``derive_korean_words.py``,
``derive_syllable_frequency.py``): the exact version the shipped files came from, or a
one-line error."""

from __future__ import annotations

import importlib.metadata
import sys

WORDFREQ_VERSION = "3.1.1"  # the version the shipped files were derived from


def korean_frequencies(what: str) -> dict[str, float] | None:
    """``wordfreq.get_frequency_dict('ko', wordlist='small')``; None after printing why
    when wordfreq is missing or another version (whose lists would give another ``what``,
    and the file's header would lie about its source)."""
    try:
        import wordfreq
    except ImportError:
        print(
            f"error: wordfreq is not installed (pip install wordfreq=={WORDFREQ_VERSION})",
            file=sys.stderr,
        )
        return None
    version = importlib.metadata.version("wordfreq")
    if version != WORDFREQ_VERSION:
        print(
            f"error: wordfreq {version} is installed; the {what} is derived from "
            f"{WORDFREQ_VERSION} (pip install wordfreq=={WORDFREQ_VERSION})",
            file=sys.stderr,
        )
        return None
    return wordfreq.get_frequency_dict("ko", wordlist="small")
