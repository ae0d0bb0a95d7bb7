"""The few-shot generator's split and references: which syllables a run never sees, and
which syllables a user is asked to draw.

Both are numpy only, drawn from fixed seeds, so that every machine agrees on them.
"""

from __future__ import annotations

import numpy as np

from hangulgan import hangul

# Common words (pangrams and everyday vocabulary) whose syllables are the candidates for a
# reference list: a user is asked to draw syllables they know, not rare ones like 뗄 or 쐽.
COMMON_TEXT = (
    "다람쥐 헌 쳇바퀴에 타고파 키스의 고유조건은 입술끼리 만나야 하고 특별한 기술은 필요치 "
    "않다 정 참판 양반댁 규수 큰 교자 타고 혼례 치른 날 값비싼 외투 닭 읽다 흙 넋 앉다 꽃 빛 "
    "몫 삶 젊은 밝은 햇살 웬 떡 뭘 봤니 왜 쉬 의사 얘기 예쁜 여우 쌀 뜻 짧은 껍질 찢다 뺨 뿔 "
    "쪽 핥다 읊다 없다 한글 글꼴"
)


def greedy_reference_cover(count: int, candidates: list[int] | None = None) -> str:
    """``count`` syllables covering as many distinct jamo as possible (greedy).

    Each pick maximises new initials + medials + finals; ties go to the earlier candidate.
    The default candidates are the KS X 1001 syllables of :data:`COMMON_TEXT`, in order.
    """
    if candidates is None:
        ksx = set(hangul.ksx1001_syllables())
        candidates = [
            cp
            for cp in dict.fromkeys(ord(c) for c in COMMON_TEXT)
            if hangul.is_syllable(cp) and cp in ksx
        ]
    seen: list[set[int]] = [set(), set(), set()]
    picked: list[int] = []
    for _ in range(count):
        best, best_gain = None, -1
        for cp in candidates:
            if cp in picked:
                continue
            parts = hangul.decompose(cp)
            gain = sum(parts[k] not in seen[k] for k in range(3))
            if gain > best_gain:
                best, best_gain = cp, gain
        if best is None:
            break
        picked.append(best)
        for k, part in enumerate(hangul.decompose(best)):
            seen[k].add(part)
    return "".join(map(chr, picked))


# The eight references a user is asked to draw (the greedy cover above): 8 distinct
# initials, 8 distinct medials of all three vowel shapes (vertical ㅏㅓㅔㅣ, horizontal
# ㅗㅜㅡ, mixed ㅘ) and 7 distinct finals plus a syllable without one. Every initial and
# every medial cannot fit in 8 syllables (each holds one of each; there are 19 and 21):
# ``greedy_reference_cover(24)`` gives a longer list that comes closer.
DEFAULT_REFERENCES = "다헌쳇입술특꽃봤"


def holdout_syllables(fraction: float, seed: int, keep: str = DEFAULT_REFERENCES) -> np.ndarray:
    """Code points of the held-out syllables: ``fraction`` of all 11,172, never ``keep``.

    Drawn with numpy's PCG64 from ``seed``, so the split is the same on every machine.
    """
    everything = np.arange(hangul.FIRST, hangul.LAST + 1, dtype=np.int64)
    eligible = everything[~np.isin(everything, [ord(c) for c in keep])]
    count = int(round(fraction * hangul.N_SYLLABLES))
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(eligible, size=count, replace=False))


def training_syllables(fraction: float, seed: int) -> str:
    """The syllables a styled run with this split may train on, as text (for ``--charset``).

    What a content critic for ``--content-weight`` should be trained on, so that it never
    sees a held-out syllable either.
    """
    held = set(holdout_syllables(fraction, seed).tolist())
    return "".join(chr(c) for c in hangul.all_syllables() if c not in held)
