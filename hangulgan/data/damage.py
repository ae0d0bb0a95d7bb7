"""The damage rule: whether a rendered face is sound enough to keep.

A damaged font never stops a run: what FreeType cannot read is listed as skipped with
its reason, and a face is judged after rendering (:func:`damage_reason`): it is
*damaged*, and skipped, when more than 1% of its mapped glyphs fail to load, when none
draws ink, or when more than half of them draw no ink and the glyphs it does draw are
not the KS X 1001 set (the 2,350-syllable design of Baekmuk Dotum or NanumSquare, which
map all 11,172 but draw only those, stays). The few glyphs of a sound face that fail
are listed in the manifest as ``failed``; its empty ones as ``empty``.
"""

from __future__ import annotations

import numpy as np

from hangulgan import hangul

# The damage rule (module docstring): thresholds on a face's mapped glyphs.
MAX_FAILED_SHARE = 0.01  # more of them failing to load: damaged
MOSTLY_EMPTY_SHARE = 0.5  # more of them drawing no ink: damaged, unless ...
SUBSET_DESIGN_SHARE = 0.95  # ... the drawn ones hold this share of its KS X 1001 syllables


def damage_reason(
    drawn: np.ndarray | list[int], empty: list[int], failed: list[int], first_error: str = ""
) -> str | None:
    """Why a rendered face is damaged (module docstring), or None when it is sound.

    ``drawn``, ``empty`` and ``failed`` split the code points its cmap maps: drawn with
    ink, loaded but inkless, not loadable.
    """
    drawn = np.asarray(drawn, dtype=np.int32)
    mapped = len(drawn) + len(empty) + len(failed)
    if len(failed) > MAX_FAILED_SHARE * mapped:
        detail = first_error.split(": ", 1)[-1] if first_error else "FreeType error"
        return (
            f"damaged: {len(failed):,} of {mapped:,} mapped glyphs fail to load ({detail}); "
            f"at most {MAX_FAILED_SHARE:.0%} may"
        )
    if not len(drawn):
        return f"damaged: none of its {mapped:,} mapped syllables draws any ink"
    if len(empty) > MOSTLY_EMPTY_SHARE * mapped:
        ksx = np.asarray(hangul.ksx1001_syllables(), dtype=np.int32)
        ksx_mapped = np.isin(np.concatenate([drawn, empty, failed]).astype(np.int32), ksx).sum()
        ksx_drawn = np.isin(drawn, ksx).sum()
        if not ksx_mapped or ksx_drawn < SUBSET_DESIGN_SHARE * ksx_mapped:
            return (
                f"damaged: {len(empty):,} of its {mapped:,} mapped syllables draw no ink, and "
                f"the {len(drawn):,} it draws are not the KS X 1001 set"
            )
    return None
