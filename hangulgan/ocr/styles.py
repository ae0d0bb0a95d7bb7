"""OCR sources drawn on the fly by the styled generator (``ocr-export --styles``).

A style spec is a comma-separated list of

- ``random:N``: N styles no one drew, each a random blend of faces the model saw
  (:meth:`StyledGenerator.random_style`), seeded from the export's seed, so a rerun with
  the same seed draws the same styles and another seed draws others;
- ``FACE``: a face of the model's style bank, as the model draws it;
- ``FACE:W+FACE:W``: a blend of bank faces, weights summing to 1 (``generate --mix``).

Each style becomes one glyph set (then a :class:`~hangulgan.ocr.compose.Source`) of the
syllables the run can use: the Hangul of ``--text`` when given, otherwise the 2,350 of
KS X 1001 (the syllables of everyday text). A style is its own design for ``--by style``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hangulgan import hangul
from hangulgan.data.glyphset import GlyphSet
from hangulgan.errors import ConfigError

MAX_RANDOM_STYLES = 10_000


@dataclass(frozen=True)
class StyleRequest:
    """One parsed item of a style spec."""

    kind: str  # "random", "face" or "mix"
    count: int = 1  # random: how many
    weights: tuple[tuple[str, float], ...] = ()  # face: one entry; mix: several


def parse_style_spec(spec: str) -> list[StyleRequest]:
    """The items of ``--styles`` (ConfigError naming the item that cannot be read)."""
    requests: list[StyleRequest] = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        if item.startswith("random:") or item == "random":
            _, _, number = item.partition(":")
            try:
                count = int(number or "1")
            except ValueError:
                raise ConfigError(f"--styles {item}: random:N takes a whole number") from None
            if not 1 <= count <= MAX_RANDOM_STYLES:
                raise ConfigError(f"--styles {item}: N must be 1 to {MAX_RANDOM_STYLES}")
            requests.append(StyleRequest("random", count))
        elif "+" in item or ":" in item:
            weights = []
            for part in item.split("+"):
                name, _, weight = part.partition(":")
                try:
                    weights.append((name.strip(), float(weight)))
                except ValueError:
                    raise ConfigError(
                        f"--styles {item}: a blend is FACE:WEIGHT+FACE:WEIGHT, e.g. "
                        "NanumMyeongjo:0.5+NanumPen:0.5"
                    ) from None
            requests.append(StyleRequest("mix", 1, tuple(weights)))
        else:
            requests.append(StyleRequest("face", 1, ((item, 1.0),)))
    if not requests:
        raise ConfigError("--styles: name at least one style (e.g. random:20)")
    return requests


def style_syllables(texts: Sequence[str] | None) -> np.ndarray:
    """The syllables each style is drawn for: those of ``texts``, or KS X 1001's 2,350."""
    if texts is None:
        return np.asarray(hangul.ksx1001_syllables(), dtype=np.int64)
    wanted = {ord(ch) for text in texts for ch in text if hangul.is_syllable(ord(ch))}
    return np.asarray(sorted(wanted), dtype=np.int64)


def random_style_seed(seed: int, number: int) -> int:
    """The seed of the ``number``-th random style of an export seeded ``seed``."""
    return int(np.random.SeedSequence([int(seed), int(number), 0x5717E]).generate_state(1)[0])


def styled_glyphsets(
    spec: str,
    seed: int = 0,
    texts: Sequence[str] | None = None,
    model: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[GlyphSet]:
    """The styles ``spec`` names as glyph sets, drawn by the styled generator (shipped
    weights when ``model`` is None; else a weights file or a styled run folder). Each
    records its design as ``meta["family"]`` (its own name: every style is one design)."""
    from hangulgan.models.styled_inference import StyledGenerator

    requests = parse_style_spec(spec)
    syllables = style_syllables(texts)
    if not len(syllables):
        raise ConfigError("--styles: the text holds no Hangul syllable for a style to draw")
    generator = StyledGenerator.load(model)
    styles = []
    randoms = 0
    for request in requests:
        if request.kind == "random":
            for _ in range(request.count):
                style = generator.random_style(random_style_seed(seed, randoms))
                styles.append((f"style-random-{randoms + 1:04d}", style))
                randoms += 1
        elif request.kind == "face":
            name = request.weights[0][0]
            styles.append((f"style-{name}", generator.style_from_face(name)))
        else:
            mix = generator.mix(dict(request.weights))
            label = "+".join(f"{n}-{w:g}" for n, w in request.weights)
            styles.append((f"style-{label}", mix))
    sets = []
    seen: set[str] = set()
    for name, style in styles:
        if name in seen:  # the same face or blend named twice is drawn once
            continue
        seen.add(name)
        glyphs = generator.glyphset(style, syllables, name=name, progress=progress)
        glyphs.meta["family"] = name
        sets.append(glyphs)
    return sets
