"""Placement geometry: where a glyph image's pixels lie relative to the font's baseline.

A glyph image means nothing to a font builder unless it knows where the em square, the
baseline and the pen origin are. A corpus renders every face under one rule (recorded in
its manifest as ``geometry``); every glyph set records the numbers that invert the rule for
its face exactly (``meta["geometry"]``), and :mod:`hangulgan.vector.fontbuild` writes them
back as outlines, advances and vertical metrics.

The ``em`` rule (:data:`EM_RULE`):

- ``em_px`` pixels per em (the canvas side: the em square fills the canvas width);
- the baseline lies ``baseline_row`` whole pixels below the canvas top, chosen per face so
  that its Hangul ink (1st..99th percentile of the glyphs' bottoms and tops) is centred
  vertically; fonts disagree on where Hangul sits (NanumGothic's typo box is 800/-200,
  Noto CJK's 880/-120, NanumSquare's 850/-255 does not even add up to its em), so one
  fixed row would clip some faces and waste rows on others;
- each glyph's pen origin lies ``origin_x(advance)`` whole pixels from the left edge, which
  centres the glyph's advance on the canvas.

Whole pixels keep a corpus image on the same pixel grid as FreeType's rendering of the
font at a whole-pixel pen position, which is how :func:`hangulgan.vector.check` compares
an exported font with its source.

Pixel ``(px, py)`` of an image (``py`` down from the top) maps to font units
``x = (px - origin_x) * upm / em_px`` and ``y = (baseline_row - py) * upm / em_px``.

Model outputs inherit their corpus's geometry: :func:`placement_meta` builds the ``meta``
entries for a glyph set from a corpus, a glyph set, or the glyph sets a model trained on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from math import ceil, floor
from typing import Any, Protocol, runtime_checkable

from hangulgan.data.glyphset import GlyphSet

GEOMETRY_VERSION = 1
EM_RULE = "em-ink-centred"
FIT_RULE = "fit"
# The manifest's ``geometry`` for each placement: a corpus resumed or merged under another
# rule is refused, so its faces never mix conventions.
RULES = {"em": EM_RULE, "fit": FIT_RULE}
# The CJK convention, used where nothing better is known (and by glyph sets written before
# geometry was recorded, whose images the builder always read this way).
CJK_ASCENDER = 0.88
CJK_DESCENDER = -0.12
# Plausible vertical metrics (VerticalMetrics.sanitized): a line at most this many em tall,
# and reaching the Hangul ink to within this share of the em. Measured on the Debian Korean
# fonts: lines 1.0-1.4 em; the typo box falls short of the ink by up to 0.08 em (LexiGulim).
MAX_LINE_EMS = 4
INK_SLACK_EMS = 0.25


@runtime_checkable
class FaceSource(Protocol):
    """A set of named faces, as a corpus (:class:`hangulgan.data.corpus.Corpus`) is."""

    @property
    def face_names(self) -> list[str]:
        """The names of its faces, in order."""
        ...

    def face(self, name: str, mmap: bool = True, augmented: bool = True) -> GlyphSet:
        """The glyph set of one face."""
        ...


@dataclass(frozen=True)
class VerticalMetrics:
    """A font's vertical metrics, in its own units (``units_per_em``)."""

    units_per_em: int = 1000
    hhea_ascender: int = 880
    hhea_descender: int = -120
    hhea_line_gap: int = 0
    typo_ascender: int = 880
    typo_descender: int = -120
    typo_line_gap: int = 0
    win_ascent: int = 880
    win_descent: int = 120
    use_typo_metrics: bool = False

    @classmethod
    def cjk_default(cls, units_per_em: int = 1000) -> VerticalMetrics:
        """880/-120 of 1000 everywhere, line gaps 0: the CJK convention."""
        asc = round(CJK_ASCENDER * units_per_em)
        desc = round(CJK_DESCENDER * units_per_em)
        return cls(units_per_em, asc, desc, 0, asc, desc, 0, asc, -desc, True)

    def scaled(self, units_per_em: int) -> VerticalMetrics:
        """The same metrics in another em (rounded to whole units)."""
        if units_per_em == self.units_per_em:
            return self
        factor = units_per_em / self.units_per_em

        def s(value: int) -> int:
            return round(value * factor)

        return VerticalMetrics(
            units_per_em,
            s(self.hhea_ascender),
            s(self.hhea_descender),
            s(self.hhea_line_gap),
            s(self.typo_ascender),
            s(self.typo_descender),
            s(self.typo_line_gap),
            s(self.win_ascent),
            s(self.win_descent),
            self.use_typo_metrics,
        )

    def sanitized(
        self,
        ink: tuple[float, float] | None = None,
        bounds: tuple[float, float] | None = None,
    ) -> tuple[VerticalMetrics, list[str]]:
        """These metrics with each implausible ascender/descender pair (hhea, OS/2 typo,
        OS/2 win) replaced, and what was replaced and why (empty when all are sound).

        ``ink`` is (bottom, top) of the face's Hangul ink in font units (its 1st and 99th
        percentiles), when known, and ``bounds`` its lowest bottom and highest top. A pair is
        plausible when its ascender is above the baseline
        and its descender not (descender ≤ 0), it spans at most :data:`MAX_LINE_EMS` em, and
        it reaches the ink to within :data:`INK_SLACK_EMS` em; a line gap from 0 to one em.
        A damaged table (a garbled ``hhea``: descender +16876) would otherwise go to export.
        An implausible pair takes the first plausible one of the others (hhea and win first
        for each other, as fonts usually set them equal), else the glyphs' ``bounds`` (or the
        ink's), else the CJK convention; its line gap becomes 0.
        """
        upm = self.units_per_em
        pairs = {
            "hhea": (self.hhea_ascender, self.hhea_descender, self.hhea_line_gap),
            "typo": (self.typo_ascender, self.typo_descender, self.typo_line_gap),
            "win": (self.win_ascent, -self.win_descent, 0),
        }

        def plausible(asc: int, desc: int, gap: int) -> bool:
            if not (asc > 0 >= desc and asc - desc <= MAX_LINE_EMS * upm and 0 <= gap <= upm):
                return False
            slack = INK_SLACK_EMS * upm
            return ink is None or (asc >= ink[1] - slack and desc <= ink[0] + slack)

        sound = {name: plausible(*pair) for name, pair in pairs.items()}
        box = bounds or ink
        if all(sound.values()):
            return self, []
        order = {"hhea": ("win", "typo"), "typo": ("hhea", "win"), "win": ("hhea", "typo")}
        fixed = dict(pairs)
        notes = []
        for name, (asc, desc, gap) in pairs.items():
            if sound[name]:
                continue
            other = next((o for o in order[name] if sound[o]), None)
            if other is not None:
                replacement, source = (pairs[other][0], pairs[other][1], 0), f"the {other} ones"
            elif box is not None and box[1] > 0 >= box[0]:
                replacement, source = (ceil(box[1]), floor(box[0]), 0), "the glyphs' bounds"
            else:
                cjk = VerticalMetrics.cjk_default(upm)
                replacement, source = (cjk.hhea_ascender, cjk.hhea_descender, 0), "880/-120"
            fixed[name] = replacement
            notes.append(
                f"implausible {name} metrics (ascender {asc}, descender {desc}, line gap {gap} "
                f"of {upm} units per em) replaced by {source} ({replacement[0]}, "
                f"{replacement[1]})"
            )
        return (
            VerticalMetrics(
                upm,
                *fixed["hhea"],
                *fixed["typo"],
                fixed["win"][0],
                -fixed["win"][1],
                self.use_typo_metrics,
            ),
            notes,
        )

    @classmethod
    def from_font(cls, path: str, face_index: int = 0) -> VerticalMetrics | None:
        """Read hhea, OS/2 and head of one face with fontTools; None when unreadable."""
        from fontTools.ttLib import TTFont

        try:
            with TTFont(path, fontNumber=face_index, lazy=True) as font:
                upm = int(font["head"].unitsPerEm)
                hhea = font["hhea"]
                os2 = font["OS/2"] if "OS/2" in font else None
                asc, desc, gap = int(hhea.ascent), int(hhea.descent), int(hhea.lineGap)
                if os2 is None:
                    return cls(upm, asc, desc, gap, asc, desc, gap, asc, -desc, False)
                return cls(
                    upm,
                    asc,
                    desc,
                    gap,
                    int(os2.sTypoAscender),
                    int(os2.sTypoDescender),
                    int(os2.sTypoLineGap),
                    int(os2.usWinAscent),
                    int(os2.usWinDescent),
                    bool(os2.fsSelection & (1 << 7)),
                )
        except Exception:  # noqa: BLE001 - fontTools raises many kinds on a damaged file
            return None


@dataclass(frozen=True)
class Geometry:
    """Where the pixels of a glyph set's images lie in font space; see the module docstring.

    ``advance`` (the face's usual advance) and ``advances`` (per code point, only where a
    glyph's advance differs) are in the source font's units, ``metrics.units_per_em``.
    """

    canvas: int
    em_px: float
    baseline_row: float
    advance: int
    metrics: VerticalMetrics = field(default_factory=VerticalMetrics)
    advances: Mapping[int, int] = field(default_factory=dict)
    rule: str = EM_RULE

    @property
    def units_per_em(self) -> int:
        """The source's units per em."""
        return self.metrics.units_per_em

    def advance_of(self, codepoint: int) -> int:
        """The advance of ``codepoint`` in source units."""
        return int(self.advances.get(int(codepoint), self.advance))

    def origin_x(self, advance: int | None = None) -> float:
        """Pixels from the canvas's left edge to the pen origin of a glyph of ``advance``
        source units (the face's usual advance by default): its advance centred, in whole
        pixels. The renderer and the font builder both use this one formula."""
        advance = self.advance if advance is None else advance
        if self.rule != EM_RULE:  # glyph sets from before geometry: the pen at the left edge
            return 0.0
        return float(floor((self.canvas - advance * self.em_px / self.units_per_em) / 2 + 0.5))

    def with_advances(self, codepoints: Sequence[int], advances: Sequence[int]) -> Geometry:
        """This geometry with the face's usual advance set to the most common of
        ``advances`` and the others recorded per code point."""
        from collections import Counter

        advances = [int(a) for a in advances]
        if not advances:
            return self
        usual = Counter(advances).most_common(1)[0][0]
        rest = {int(cp): a for cp, a in zip(codepoints, advances, strict=True) if a != usual}
        return replace(self, advance=usual, advances=rest)

    def restricted(self, codepoints: Sequence[int]) -> Geometry:
        """This geometry with only the per-glyph advances of ``codepoints`` (what a worker
        tracing those glyphs needs, not a proportional face's whole table)."""
        if not self.advances:
            return self
        keep = {int(cp): self.advances[int(cp)] for cp in codepoints if int(cp) in self.advances}
        return replace(self, advances=keep)

    def to_meta(self) -> dict[str, Any]:
        """JSON-ready form (``meta["geometry"]`` of a glyph set)."""
        metrics = self.metrics
        return {
            "version": GEOMETRY_VERSION,
            "rule": self.rule,
            "canvas": self.canvas,
            "em_px": self.em_px,
            "baseline_row": self.baseline_row,
            "units_per_em": metrics.units_per_em,
            "advance": self.advance,
            "advances": {f"{cp:04X}": a for cp, a in sorted(self.advances.items())},
            "hhea": [metrics.hhea_ascender, metrics.hhea_descender, metrics.hhea_line_gap],
            "typo": [metrics.typo_ascender, metrics.typo_descender, metrics.typo_line_gap],
            "win": [metrics.win_ascent, metrics.win_descent],
            "use_typo_metrics": metrics.use_typo_metrics,
        }

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> Geometry:
        """Inverse of :meth:`to_meta`; ValueError names the first field that is wrong."""
        try:
            if int(meta["version"]) != GEOMETRY_VERSION:
                raise ValueError(f"version {meta['version']} (this hangulgan reads 1)")
            hhea, typo, win = meta["hhea"], meta["typo"], meta["win"]
            metrics = VerticalMetrics(
                int(meta["units_per_em"]),
                *(int(v) for v in hhea),
                *(int(v) for v in typo),
                *(int(v) for v in win),
                bool(meta["use_typo_metrics"]),
            )
            geometry = cls(
                canvas=int(meta["canvas"]),
                em_px=float(meta["em_px"]),
                baseline_row=float(meta["baseline_row"]),
                advance=int(meta["advance"]),
                metrics=metrics,
                advances={int(k, 16): int(v) for k, v in dict(meta.get("advances", {})).items()},
                rule=str(meta["rule"]),
            )
        except (KeyError, TypeError) as err:
            raise ValueError(f"geometry field {err} missing or of the wrong type") from None
        if geometry.canvas < 1 or geometry.em_px <= 0 or metrics.units_per_em < 16:
            raise ValueError("geometry has a non-positive canvas, em or units per em")
        if geometry.advance < 0:
            raise ValueError("geometry has a negative advance")
        return geometry

    @classmethod
    def legacy(cls, canvas: int) -> Geometry:
        """How glyph sets without a recorded geometry were always read: the canvas is the
        em, the baseline 880/1000 of it below the top, the pen at the left edge of a
        1000-unit advance."""
        return cls(
            canvas=canvas,
            em_px=float(canvas),
            baseline_row=CJK_ASCENDER * canvas,
            advance=1000,
            metrics=VerticalMetrics.cjk_default(1000),
            rule="legacy",
        )


def geometry_of(glyphs: GlyphSet) -> Geometry | None:
    """The recorded geometry of a glyph set; None when it has none (written before geometry
    was recorded, or with the ``fit`` placement, which cannot be inverted).

    Raises ValueError for a recorded geometry that cannot be read."""
    meta = glyphs.meta.get("geometry")
    if not meta:
        return None
    return Geometry.from_meta(meta)


def placement_meta(
    source: FaceSource | GlyphSet | Sequence[GlyphSet], face: str | None = None
) -> dict[str, Any]:
    """The ``meta`` entries (``placement`` and ``geometry``) that a glyph set drawn in the
    convention of ``source`` must carry, so that ``export-ttf`` puts its glyphs back where
    the source fonts had them. Merge them into the new set's meta::

        meta = {"source": "my model", **placement_meta(corpus, face="NanumGothic")}

    ``source`` is a corpus (``face`` picks one of its faces), a glyph set, or the glyph sets
    a model trained on. Several faces of different geometry give the one whose baseline row
    is the median (ties: by name): its rule and em are the corpus's, and its advance and
    metrics are those of a real face. Returns ``{"placement": "fit"}`` for ``fit`` sources
    (which cannot be inverted) and ``{}`` when no source records a geometry.
    """
    if isinstance(source, FaceSource):
        names = [face] if face is not None else source.face_names
        sets = [source.face(name, augmented=False) for name in names]
    elif isinstance(source, GlyphSet):
        sets = [source]
    else:
        sets = list(source)
    candidates: list[tuple[float, str, Geometry]] = []
    for glyphs in sets:
        try:
            geometry = geometry_of(glyphs)
        except ValueError:
            geometry = None
        if geometry is not None:
            candidates.append((geometry.baseline_row, glyphs.name, geometry))
    if not candidates:
        # ``fit`` images cannot be inverted, but export should still say that is why
        fit = bool(sets) and all(g.meta.get("placement") == "fit" for g in sets)
        return {"placement": "fit"} if fit else {}
    candidates.sort(key=lambda item: (item[0], item[1]))
    chosen = candidates[(len(candidates) - 1) // 2][2]
    if len(candidates) > 1:
        chosen = replace(chosen, advances={})  # per-glyph advances belong to one face only
    placement = "em" if chosen.rule == EM_RULE else chosen.rule
    return {"placement": placement, "geometry": chosen.to_meta()}
