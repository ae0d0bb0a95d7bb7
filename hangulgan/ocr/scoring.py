"""How well a recognizer read: character error rate, word accuracy, lines read exactly.

* **Character error rate** (CER): the edit distance (insertions, deletions and
  substitutions of characters, spaces included) between what was read and the label,
  summed over all samples and divided by the summed length of the labels. It can exceed
  1 when a recognizer reads far more than is there.
* **Word accuracy**: the share of the labels' words (split at spaces) that were read
  right, counted on the word-level alignment with the fewest edits (and, among those,
  the most words right): jiwer's "hits" over the reference words. For an export of
  single words it is the share of images read exactly.
* **Line accuracy**: the share of samples read exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any


def edit_distance(reference: Sequence[Any], hypothesis: Sequence[Any]) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions that turn
    ``hypothesis`` into ``reference`` (strings, or lists of words)."""
    if len(reference) < len(hypothesis):
        reference, hypothesis = hypothesis, reference
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, start=1):
        current = [i]
        for j, hyp in enumerate(hypothesis, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


def aligned_hits(reference: Sequence[Any], hypothesis: Sequence[Any]) -> int:
    """How many items of ``reference`` an alignment with the fewest edits matches
    exactly, taking the alignment with the most matches when several tie."""
    # each cell holds (edits, -hits): tuples compare edits first, then more hits
    previous = [(j, 0) for j in range(len(hypothesis) + 1)]
    for i, ref in enumerate(reference, start=1):
        current = [(i, 0)]
        for j, hyp in enumerate(hypothesis, start=1):
            diagonal = previous[j - 1]
            step = (diagonal[0], diagonal[1] - 1) if ref == hyp else (diagonal[0] + 1, diagonal[1])
            up, left = previous[j], current[j - 1]
            current.append(min(step, (up[0] + 1, up[1]), (left[0] + 1, left[1])))
        previous = current
    return -previous[-1][1]


@dataclass
class Scores:
    """Totals over a set of samples, and the rates made from them."""

    samples: int = 0
    characters: int = 0  # in the labels
    character_errors: int = 0  # summed edit distances
    words: int = 0  # in the labels
    words_right: int = 0
    lines_right: int = 0

    @property
    def cer(self) -> float:
        """Character error rate (0 with no label character)."""
        return self.character_errors / self.characters if self.characters else 0.0

    @property
    def word_accuracy(self) -> float:
        """Share of the labels' words read right."""
        return self.words_right / self.words if self.words else 0.0

    @property
    def line_accuracy(self) -> float:
        """Share of samples read exactly."""
        return self.lines_right / self.samples if self.samples else 0.0

    def add(self, reference: str, hypothesis: str) -> None:
        """Count one sample: its label and what was read."""
        self.samples += 1
        self.characters += len(reference)
        self.character_errors += edit_distance(reference, hypothesis)
        ref_words, hyp_words = reference.split(), hypothesis.split()
        self.words += len(ref_words)
        self.words_right += aligned_hits(ref_words, hyp_words)
        self.lines_right += reference == hypothesis

    def to_dict(self) -> dict[str, Any]:
        """The totals and the rates, JSON-ready."""
        return asdict(self) | {
            "cer": self.cer,
            "word_accuracy": self.word_accuracy,
            "line_accuracy": self.line_accuracy,
        }


def score(pairs: Iterable[tuple[str, str]]) -> Scores:
    """The scores of ``(label, read)`` pairs."""
    totals = Scores()
    for reference, hypothesis in pairs:
        totals.add(reference, hypothesis)
    return totals
