"""Set syllables, words and lines from glyph sets, for OCR training data.

A :class:`Source` is one glyph set (a corpus face or a generated set) scaled once to the
output height. Text is set the way the font would set it: each glyph's pen origin and
advance come from the set's placement geometry (``meta["geometry"]``, see
:mod:`hangulgan.data.placement`), converted from source units to pixels, and a space
advances the pen by :data:`SPACE_EM` of the em. A set without a geometry (``fit``
placement, or written before geometry was recorded) is read the legacy way: the canvas is
the em and the advance.

Coverage is the point: a source *holds* a character only when its glyph draws ink, and a
text is set only from a source that holds every character of it (:meth:`Source.holds`).

Without a text file, :class:`Sampler` draws syllables by their frequency in Korean text
(the shipped table ``data/syllable-frequency.tsv``, see :func:`syllable_frequency`).
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hangulgan import hangul
from hangulgan.data.augment import AugmentConfig, augment_batch
from hangulgan.data.corpus import MANIFEST, Corpus, open_glyphset
from hangulgan.data.glyphset import GlyphSet
from hangulgan.data.placement import Geometry, geometry_of
from hangulgan.errors import ConfigError, GlyphSetError

# A word space of 0.3 em: between the quarter and third of an em that Korean fonts give
# U+0020 (NanumGothic 0.25, Noto Sans CJK 0.224, NanumMyeongjo 0.33).
SPACE_EM = 0.3
# Paper left on each side of a sample, as a fraction of its height.
MARGIN = 1 / 16
# A glyph image with fewer inked pixels (> INK_LEVEL) than this draws nothing.
INK_LEVEL = 64
MIN_INK_PIXELS = 1


@dataclass
class Source:
    """One glyph set at the output height, ready to set text from.

    ``tiles`` are all of the set's images (memory-mapped when the set is and no scaling
    is needed, so a large corpus is read only where samples use it); ``advances_px`` and
    ``origins_px`` follow them row by row. Only inked glyphs are in ``codepoints`` and
    ``index``: an empty one can never be set."""

    name: str
    tiles: np.ndarray  # N×H×W uint8, ink 255
    advances_px: np.ndarray  # N float: pen advance of each glyph
    origins_px: np.ndarray  # N float: pen origin of each glyph within its tile
    codepoints: np.ndarray  # M int32: the characters that draw ink
    rows: np.ndarray  # M: their tile rows
    space_px: float
    empty: list[int] = field(default_factory=list)  # held by the set but inkless: never used
    # The design it belongs to (a font family, a styled model's style): ``--by style``
    # keeps a design's weights in one split. Empty: the source is its own design.
    group: str = ""
    index: dict[int, int] = field(default_factory=dict)  # code point → tile row (inked only)

    def __post_init__(self) -> None:
        self.index = dict(zip(self.codepoints.tolist(), self.rows.tolist(), strict=True))
        self.group = self.group or self.name

    @property
    def height(self) -> int:
        """Height of every tile (the output height)."""
        return int(self.tiles.shape[1])

    def holds(self, text: str) -> bool:
        """True when every non-space character of ``text`` has an inked glyph here."""
        return all(ch == " " or ord(ch) in self.index for ch in text)

    @classmethod
    def from_glyphset(cls, glyphs: GlyphSet, height: int, name: str | None = None) -> Source:
        """Scale ``glyphs`` to ``height`` pixels and read its advances from its geometry."""
        name = name or glyphs.name
        images = glyphs.images
        inked = np.concatenate(
            [
                (images[at : at + 1024] > INK_LEVEL).reshape(-1, images[0].size).sum(axis=1)
                >= MIN_INK_PIXELS
                for at in range(0, len(images), 1024)
            ]
            or [np.zeros(0, dtype=bool)]
        )
        try:
            geometry = geometry_of(glyphs)
        except ValueError as err:
            raise GlyphSetError(f"{name}: unreadable placement geometry ({err})") from None
        canvas_h, canvas_w = glyphs.size
        if geometry is None:
            geometry = Geometry.legacy(canvas_w)
        scale = height / canvas_h
        px_per_unit = geometry.em_px / geometry.units_per_em * scale
        cps = glyphs.codepoints
        advances = np.array([geometry.advance_of(cp) for cp in cps.tolist()], dtype=np.float64)
        origins = np.array([geometry.origin_x(int(a)) for a in advances.tolist()], dtype=np.float64)
        tiles = images
        if scale != 1:
            tiles = _resize(np.asarray(images), height, max(1, round(canvas_w * scale)))
        return cls(
            name=name,
            tiles=tiles,
            advances_px=advances * px_per_unit,
            origins_px=origins * scale,
            codepoints=cps[inked].astype(np.int32),
            rows=np.flatnonzero(inked),
            space_px=SPACE_EM * geometry.em_px * scale,
            empty=cps[~inked].tolist(),
            group=str(glyphs.meta.get("family") or glyphs.meta.get("style") or name),
        )


def _resize(images: np.ndarray, height: int, width: int) -> np.ndarray:
    from PIL import Image

    out = np.empty((len(images), height, width), dtype=np.uint8)
    for i, image in enumerate(images):
        out[i] = np.asarray(Image.fromarray(image).resize((width, height), Image.BILINEAR))
    return out


def open_sources(refs: Sequence[str], height: int) -> list[Source]:
    """Sources from ``CORPUS::FACE``, a corpus folder (all its faces), a glyph-set folder,
    or a font: a font file (every face of a collection) or a folder of font files (a
    web font's subset files are one face), rendered by the render stage at ``height``.

    Names are made unique (a glyph set named like a corpus face gets its folder path)."""
    sources: list[Source] = []
    seen: set[str] = set()
    for ref in refs:
        path = Path(ref)
        if (
            "::" not in ref
            and (path / MANIFEST).is_file()
            and not (path / "glyphset.json").is_file()
        ):
            corpus = Corpus.open(path)
            if not corpus.face_names:
                raise GlyphSetError(f"{path}: corpus holds no face")
            sets = [
                (f"{ref}::{name}", corpus.face(name, augmented=False)) for name in corpus.face_names
            ]
        elif "::" not in ref and _is_font_ref(path):
            sets = [(f"{ref}::{g.name}", g) for g in render_font_glyphsets(path, height)]
        else:
            sets = [(ref, open_glyphset(ref))]
        for label, glyphs in sets:
            name = glyphs.name if glyphs.name not in seen else label
            seen.add(name)
            sources.append(Source.from_glyphset(glyphs, height, name=name))
    return sources


def _is_font_ref(path: Path) -> bool:
    from hangulgan.data.fonts import FONT_SUFFIXES

    if path.is_file():
        return path.suffix.lower() in FONT_SUFFIXES
    if path.is_dir() and not (path / "glyphset.json").is_file():
        return any(p.suffix.lower() in FONT_SUFFIXES for p in path.rglob("*") if p.is_file())
    return False


def render_font_glyphsets(path: str | Path, height: int) -> list[GlyphSet]:
    """Every face of the font file or folder ``path`` rendered as the render stage renders
    a corpus (``em`` placement, ``height`` pixels): the Hangul syllables it maps, with its
    advances and placement geometry. GlyphSetError when it holds no usable face."""
    from hangulgan.data.fonts import collect_faces
    from hangulgan.data.webfonts import open_renderer

    faces, skipped = collect_faces([path])
    if not faces:
        reasons = "; ".join(str(s) for s in skipped if not s.duplicate)[:300]
        raise GlyphSetError(
            f"{path}: no font face with Hangul syllables ({reasons or 'none found'})"
        )
    sets = []
    for info in faces:
        result = open_renderer(info, height, "em").render(info.covered)
        if not len(result.codepoints):
            raise GlyphSetError(f"{info.path}: {info.display_name} draws no Hangul syllable")
        meta = result.placement_meta() | {
            "family": info.family,
            "style": info.style,
            "source_file": info.path.name,
        }
        sets.append(GlyphSet(result.images, result.codepoints.astype(np.int32), info.face_id, meta))
    return sets


# --------------------------------------------------------------------------- setting text


def glyph_rows(source: Source, text: str) -> list[int]:
    """Tile rows of the non-space characters of ``text`` (KeyError for one not held)."""
    return [source.index[ord(ch)] for ch in text if ch != " "]


def layout(source: Source, text: str) -> tuple[list[int], list[int], float]:
    """Where each glyph of ``text`` goes: its tile rows, the left edges of their tiles in
    whole pixels (the pen origin of each glyph on the pen position), and where the pen
    ends. The pen starts at the left margin and moves by each glyph's advance."""
    rows: list[int] = []
    lefts: list[int] = []
    pen = source.height * MARGIN
    for ch in text:
        if ch == " ":
            pen += source.space_px
            continue
        row = source.index[ord(ch)]
        rows.append(row)
        lefts.append(int(np.floor(pen - source.origins_px[row] + 0.5)))
        pen += source.advances_px[row]
    return rows, lefts, pen


def set_text(source: Source, text: str, tiles: np.ndarray | None = None) -> np.ndarray:
    """An H×W uint8 image (ink 255) of ``text`` set from ``source``, with a margin of
    paper each side (wider where a glyph's tile reaches past its advance).

    ``tiles`` replaces the source's tiles of the text's glyphs, in order (augmented
    copies); each glyph keeps its source advance and origin."""
    rows, lefts, pen = layout(source, text)
    if tiles is None:
        tiles = source.tiles[rows]
    tile_w = tiles.shape[2] if len(rows) else 0
    start = min([0, *lefts])
    stop = max([int(np.ceil(pen + source.height * MARGIN)), *(x + tile_w for x in lefts)])
    canvas = np.zeros((source.height, stop - start), dtype=np.uint8)
    for tile, left in zip(tiles, lefts, strict=True):
        region = canvas[:, left - start : left - start + tile_w]
        np.maximum(region, tile, out=region)
    return canvas


# --------------------------------------------------------------------------- built-in text


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
    """Draws words or lines from one source's Hangul syllables, each syllable drawn
    independently with :func:`syllable_weights` (Korean syllable frequency; no model of
    which syllables follow which, so the words are not real words)."""

    def __init__(self, source: Source, shape: TextShape | None = None) -> None:
        self.shape = shape or TextShape()
        weights = syllable_weights(source.codepoints)
        if weights.sum() <= 0:
            raise GlyphSetError(f"{source.name}: holds no Hangul syllable to sample words from")
        keep = weights > 0
        self.chars = np.array([chr(c) for c in source.codepoints[keep].tolist()])
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


# --------------------------------------------------------------------------- augmentation


def word_glyph_augment() -> AugmentConfig:
    """The render stage's per-glyph distortions, at amounts that keep a word readable:
    small rotation, shear and scale, a gentle elastic warp; no wrap-around
    (a glyph shifted off its tile must not reappear on the other side). Blur and noise
    are applied per line instead, so that they do not stop at glyph tiles."""
    return AugmentConfig(
        rotation_deg=3.0,
        scale_range=(0.94, 1.04),
        shear_deg=6.0,
        shift_px=0.8,
        wrap=False,
        elastic_px=1.0,
        elastic_prob=0.3,
        stroke_prob=0.0,  # a stroke weight that changes inside a word looks like no print
        blur_prob=0.0,
        noise_prob=0.0,
    )


@dataclass
class LineAugment:
    """Per-glyph distortions (:mod:`hangulgan.data.augment`) plus per-line ones: baseline
    curvature, paper and ink tone, blur, noise and JPEG quality. Amounts are for 32 px."""

    glyph: AugmentConfig = field(default_factory=word_glyph_augment)
    curve_px: float = 1.5  # largest vertical offset of a curved baseline
    curve_prob: float = 0.3
    paper: tuple[int, int] = (170, 255)
    ink: tuple[int, int] = (0, 90)
    blur_prob: float = 0.3
    blur_radius: tuple[float, float] = (0.3, 0.9)
    noise_prob: float = 0.3
    noise_std: float = 10.0  # grey levels
    jpeg_quality: tuple[int, int] = (40, 95)  # used when images are written as JPEG


def augment_tiles(tiles: np.ndarray, config: AugmentConfig, generator) -> np.ndarray:
    """Per-glyph distortions of a stack of tiles, in one batch (torch, CPU)."""
    import torch

    if not len(tiles):
        return tiles
    with torch.no_grad():
        out, _ = augment_batch(torch.from_numpy(np.ascontiguousarray(tiles)), config, generator)
    return out.numpy()


def finish_line(
    ink: np.ndarray, augment: LineAugment | None, rng: np.random.Generator
) -> np.ndarray:
    """The grey image (paper light, ink dark) of a set line (ink 255), with the per-line
    distortions of ``augment`` when given."""
    if augment is None:
        return 255 - ink
    from PIL import Image, ImageFilter

    height, width = ink.shape
    unit = height / 32
    alpha = ink.astype(np.float32) * np.float32(1 / 255)
    if rng.random() < augment.curve_prob and width > 1:
        amount = rng.uniform(-augment.curve_px, augment.curve_px) * unit
        x = np.linspace(-1.0, 1.0, width)
        offsets = np.rint(amount * x * x).astype(np.int64)
        rows = np.arange(height)[:, None] - offsets[None, :]
        valid = (rows >= 0) & (rows < height)
        alpha = np.where(valid, alpha[np.clip(rows, 0, height - 1), np.arange(width)], 0.0)
    paper = np.float32(rng.uniform(*augment.paper))
    tone = np.float32(rng.uniform(*augment.ink))
    grey = alpha * (tone - paper)
    grey += paper + np.float32(0.5)
    if rng.random() < augment.noise_prob:
        noise = rng.standard_normal(grey.shape, dtype=np.float32)
        noise *= np.float32(augment.noise_std)
        grey += noise
    image = np.clip(grey, 0, 255, out=grey).astype(np.uint8)
    if rng.random() < augment.blur_prob:
        radius = rng.uniform(*augment.blur_radius) * unit
        image = np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(radius)))
    return image
