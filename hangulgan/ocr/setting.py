"""Set a line of text from a :class:`~hangulgan.ocr.fonts.FontSource` into an image.

Each run of characters that one face draws is shaped by HarfBuzz with that face's own
advances and kerning, and its glyphs, drawn by FreeType at the line's pixel size, are laid
on one baseline; spaces are the faces' own spaces. The em is :data:`EM_OF_HEIGHT` of the
image height, and the baseline puts the main face's em box in the middle of the image.

Margins are kept by construction: a sample is laid out (and, with augmentation, distorted
and blurred) on a canvas with room to spare, and the image is then cut around the ink
that is actually there, ``margin`` pixels of paper on every side: no distortion can push
a stroke across an edge, because the edges are placed after it. When the ink is taller
than the image allows, the line is set again at a smaller size (plain), or the distorted
line is scaled down to fit (augmented); it is never cut.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hangulgan.ocr.fonts import SPACE, SPACE_EM, FontSource

# The em as a fraction of the image height: Hangul ink (about 0.9 em) then fills about
# two thirds of it, as in a line cut out of a page with a little paper above and below.
EM_OF_HEIGHT = 0.7
# Paper kept around the ink, as a fraction of the height (at least MIN_MARGIN pixels).
MARGIN = 1 / 16
MIN_MARGIN = 2
# Coverage below this (of 255) counts as paper when the ink is found after distortion: a
# pixel the eye cannot tell from paper.
INK_FLOOR = 2


@dataclass
class Distortion:
    """Per-line distortions of ``--augment``, in fractions of the height unless named."""

    scale: tuple[float, float] = (0.85, 1.08)  # the em, times EM_OF_HEIGHT
    tracking_em: float = 0.04  # each glyph's pen moved by up to this, either way
    rise_em: float = 0.03  # each glyph raised or lowered by up to this
    rotation_deg: float = 1.5  # at most; less for long lines (see ``bound``)
    bound: float = 0.12  # the rotation moves a line's ends by at most this of the height
    shear: float = 0.22  # x moved by shear × height above the middle (italic-like)
    curve: float = 0.08  # a bent baseline: its middle this far from its ends
    wave: float = 0.04  # a wavy baseline's amplitude
    bold_prob: float = 0.15  # strokes thickened by a pixel (heights from 32)
    blur_prob: float = 0.3
    blur_px: tuple[float, float] = (0.3, 0.9)  # radius, for 32 px
    noise_prob: float = 0.3
    noise_std: float = 10.0  # grey levels
    paper: tuple[int, int] = (170, 255)
    ink: tuple[int, int] = (0, 90)
    jpeg_quality: tuple[int, int] = (40, 95)  # used when images are written as JPEG


@dataclass
class Laid:
    """Glyphs laid on one baseline: bitmaps and the row and column of their top-left
    pixel (baseline at row 0, pen start at column 0); the pen's end; the ink's bounds."""

    bitmaps: list[np.ndarray]
    rows: list[int]
    cols: list[int]
    pen: float
    top: int
    bottom: int  # one past the lowest ink row
    left: int
    right: int

    @property
    def height(self) -> int:
        """Rows of ink."""
        return self.bottom - self.top


def lay_out(
    source: FontSource,
    text: str,
    em_px: int,
    rng: np.random.Generator | None = None,
    distortion: Distortion | None = None,
) -> Laid:
    """Lay ``text`` out at ``em_px`` pixels per em: runs of one face each, shaped by it.
    With ``rng`` and ``distortion``, each glyph is moved a little (tracking and rise)."""
    runs: list[tuple[int, str]] = []
    chain = source.chain
    for ch in text:
        at = source.face_of(ch)
        if ch == SPACE and runs and runs[-1][0] >= 0 and chain[runs[-1][0]].draws(32):
            at = runs[-1][0]  # a space belongs to the run it follows when its face has one
        if runs and runs[-1][0] == at:
            runs[-1] = (at, runs[-1][1] + ch)
        else:
            runs.append((at, ch))
    jitter = rng is not None and distortion is not None
    bitmaps: list[np.ndarray] = []
    rows: list[int] = []
    cols: list[int] = []
    pen = 0.0
    for at, run in runs:
        if at == -2:
            pen += SPACE_EM * em_px * len(run)
            continue
        if at < 0:
            raise ValueError(f"{source.name}: no face draws {run!r}")
        face = chain[at]
        scale = em_px / face.upem
        for gid, advance, x_offset, y_offset in face.shape(run):
            glyph = face.glyph(gid, em_px)
            x, y = pen + x_offset * scale, y_offset * scale
            if jitter:
                x += rng.uniform(-1, 1) * distortion.tracking_em * em_px
                y += rng.uniform(-1, 1) * distortion.rise_em * em_px
            if glyph.bitmap.size:
                bitmaps.append(glyph.bitmap)
                rows.append(-round(y) - glyph.top)
                cols.append(math.floor(x + 0.5) + glyph.left)
            pen += advance * scale
    if not bitmaps:
        return Laid([], [], [], pen, 0, 0, 0, 0)
    return Laid(
        bitmaps,
        rows,
        cols,
        pen,
        min(rows),
        max(r + b.shape[0] for r, b in zip(rows, bitmaps, strict=True)),
        min(cols),
        max(c + b.shape[1] for c, b in zip(cols, bitmaps, strict=True)),
    )


def paint(laid: Laid, shape: tuple[int, int], row: int, col: int) -> np.ndarray:
    """The ink (0..255) of ``laid`` on a canvas of ``shape``, its baseline at ``row`` and
    its pen start at ``col``."""
    canvas = np.zeros(shape, dtype=np.uint8)
    for bitmap, r, c in zip(laid.bitmaps, laid.rows, laid.cols, strict=True):
        region = canvas[row + r : row + r + bitmap.shape[0], col + c : col + c + bitmap.shape[1]]
        np.maximum(region, bitmap, out=region)
    return canvas


def margin_px(height: int) -> int:
    """Paper kept on every side of the ink of an image ``height`` pixels high."""
    return max(MIN_MARGIN, round(height * MARGIN))


def set_plain(source: FontSource, text: str, height: int) -> np.ndarray:
    """The ink (0..255) of ``text`` on an image ``height`` pixels high, its em box in the
    middle, its ink at least :func:`margin_px` from every edge (the line is set smaller
    when it would not fit)."""
    margin = margin_px(height)
    em_px = max(4, round(height * EM_OF_HEIGHT))
    laid = lay_out(source, text, em_px)
    for _ in range(4):  # a tall glyph (a bracket, a stacked vowel): set the line smaller
        if laid.height <= height - 2 * margin:
            break
        em_px = max(4, math.floor(em_px * (height - 2 * margin) / laid.height))
        laid = lay_out(source, text, em_px)
    main = source.main
    middle = (main.ascender + main.descender) / 2 * em_px / main.upem
    baseline = round(height / 2 + middle)
    # within the margins whatever the metrics say
    baseline = min(max(baseline, margin - laid.top), height - margin - laid.bottom)
    width = laid.right - laid.left + 2 * margin
    return paint(laid, (height, width), baseline, margin - laid.left)


def set_distorted(
    source: FontSource, text: str, height: int, distortion: Distortion, rng: np.random.Generator
) -> np.ndarray:
    """The ink (0..255, float) of ``text`` drawn with the geometric distortions and blur
    of ``distortion`` (see :class:`Distortion`), cut out with :func:`margin_px` of paper
    on every side of whatever ink the distortions left, ``height`` pixels high."""
    from scipy import ndimage

    margin = margin_px(height)
    unit = height / 32
    em_px = max(4, round(height * EM_OF_HEIGHT * rng.uniform(*distortion.scale)))
    laid = lay_out(source, text, em_px, rng, distortion)
    pad = max(4, round(height * 0.3))  # beyond the largest move the distortions make
    shape = (laid.height + 2 * pad, laid.right - laid.left + 2 * pad)
    ink = paint(laid, shape, pad - laid.top, pad - laid.left).astype(np.float32)
    if rng.random() < distortion.bold_prob and height >= 32:
        ink = np.maximum(ink, ndimage.maximum_filter(ink, size=(2, 2)))
    rows, cols = shape
    cy, cx = rows / 2, cols / 2
    long_side = max(laid.right - laid.left, 1)
    angle = math.radians(rng.uniform(-1, 1) * distortion.rotation_deg)
    limit = math.asin(min(1.0, distortion.bound * height / long_side * 2))
    angle = max(-limit, min(limit, angle))
    shear = rng.uniform(-1, 1) * distortion.shear
    curve = rng.uniform(-1, 1) * distortion.curve * height
    wave = rng.uniform(-1, 1) * distortion.wave * height
    period = rng.uniform(2, 6) * height
    phase = rng.uniform(0, 2 * math.pi)
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float32)
    # inverse map, output → source: undo the bend and wave, then the rotation, then shear
    u = (x - cx) / (cols / 2)
    y = y - (curve * (u * u - 1 / 3) + wave * np.sin(x / period * 2 * math.pi + phase))
    cos, sin = math.cos(angle), math.sin(angle)
    dy, dx = y - cy, x - cx
    sy = cos * dy - sin * dx
    sx = sin * dy + cos * dx
    sx = sx + shear * sy
    ink = ndimage.map_coordinates(ink, [sy + cy, sx + cx], order=1, cval=0.0)
    if rng.random() < distortion.blur_prob:
        sigma = rng.uniform(*distortion.blur_px) * unit / 2
        ink = ndimage.gaussian_filter(ink, sigma, truncate=3.0)
    return cut_out(ink, height, margin)


def cut_out(ink: np.ndarray, height: int, margin: int) -> np.ndarray:
    """The image ``height`` high around the ink of ``ink`` (values under
    :data:`INK_FLOOR` are paper), ``margin`` of paper each side; ink taller than
    ``height - 2 margin`` is scaled down to fit, never cut."""
    seen = ink >= INK_FLOOR
    ink = np.where(seen, ink, 0)
    any_rows = np.flatnonzero(seen.any(axis=1))
    any_cols = np.flatnonzero(seen.any(axis=0))
    if not len(any_rows):
        return np.zeros((height, 2 * margin + 1), dtype=np.float32)
    top, bottom = int(any_rows[0]), int(any_rows[-1]) + 1
    left, right = int(any_cols[0]), int(any_cols[-1]) + 1
    tall = bottom - top
    if tall <= height - 2 * margin:
        # centre the ink's rows in the image
        start = top - (height - tall) // 2
        window = np.zeros((height, right - left + 2 * margin), dtype=np.float32)
        src_top = max(start, 0)
        src_bottom = min(start + height, ink.shape[0])
        window[src_top - start : src_bottom - start, margin:-margin] = ink[
            src_top:src_bottom, left:right
        ]
        return window
    from PIL import Image

    # scale the ink down into the rows between the margins, then surround it with paper
    inner = height - 2 * margin
    width = max(1, round((right - left) * inner / tall))
    scaled = Image.fromarray(ink[top:bottom, left:right].astype(np.float32), "F")
    scaled = np.asarray(scaled.resize((width, inner), Image.BILINEAR))
    window = np.zeros((height, width + 2 * margin), dtype=np.float32)
    window[margin:-margin, margin:-margin] = scaled
    return window


def finish(ink: np.ndarray, distortion: Distortion | None, rng: np.random.Generator) -> np.ndarray:
    """The grey image (paper light, ink dark) of an ink image, with the paper and ink
    tones and noise of ``distortion`` when given."""
    if distortion is None:
        return 255 - ink
    alpha = ink.astype(np.float32) * np.float32(1 / 255)
    paper = np.float32(rng.uniform(*distortion.paper))
    tone = np.float32(rng.uniform(*distortion.ink))
    grey = alpha * (tone - paper)
    grey += paper + np.float32(0.5)
    if rng.random() < distortion.noise_prob:
        noise = rng.standard_normal(grey.shape, dtype=np.float32)
        noise *= np.float32(distortion.noise_std)
        grey += noise
    return np.clip(grey, 0, 255, out=grey).astype(np.uint8)


def render_text(
    source: FontSource,
    text: str,
    height: int,
    distortion: Distortion | None,
    rng: np.random.Generator,
) -> np.ndarray:
    """The grey image of ``text`` set from ``source``, ``height`` pixels high."""
    if distortion is None:
        return finish(set_plain(source, text, height), None, rng)
    return finish(set_distorted(source, text, height, distortion, rng), distortion, rng)
