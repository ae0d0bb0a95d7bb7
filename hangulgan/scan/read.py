"""Read the written boxes of located pages (:mod:`hangulgan.scan.locate`) into glyphs.

Each box is cut out of the photo through the page's perspective and the box's placement in
one :func:`skimage.transform.warp`, sampled at :data:`SUPERSAMPLE` × the glyph's pixels,
so the glyph's canvas lands exactly on whole blocks of samples. The mapping puts the
printed em square on the glyph set's em and the printed baseline on its baseline row
(:func:`canvas_to_page`): a syllable written small, high or off-centre stays so, as a
font's glyph stays where its designer put it.

Ink is what is darker than both a local (Sauvola) threshold and half the paper's
brightness, after the lighting was evened out; the printed guides and box lines are light
grey, and on their known positions only clearly dark ink counts, so a stroke crossing a
guide keeps its pixels and the guide does not become ink. Specks are dropped. Each
glyph pixel is the share of ink among its samples (anti-aliased, as the corpus's
renders are).

A box is skipped, with the reason, when it is empty, crossed out (a long diagonal stroke
or a filled box) or overflowing (ink over its edge, or beyond the em square so far that the
glyph would be cut off).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hangulgan.data.placement import Geometry
from hangulgan.scan import ScanError
from hangulgan.scan.layout import BOX, EM, LABEL_BAND, Box, Page
from hangulgan.scan.locate import LocatedPage, locate_page

SUPERSAMPLE = 4  # samples per glyph pixel along each side
BORDER_MM = 1.5  # how far outside the box is looked at (ink over the edge)
INK_LEVEL = 0.5  # ink is darker than half the paper
SURE_INK_LEVEL = 0.3  # this dark is ink whatever its surroundings
GUIDE_INK_LEVEL = 0.3  # on a printed guide or box line, only clearly dark ink counts
GUIDE_BAND_MM = 0.35  # half-width of the band around a printed line
EDGE_INSET_MM = 0.6  # the box's inside begins this far in from its printed edge
SAUVOLA_WINDOW_MM = 3.0
SAUVOLA_K = 0.2
SPECK_MM2 = 0.15  # ink blobs smaller than this are noise
EMPTY_MM2 = 1.5  # less ink than this in a box: empty
CLIPPED_SHARE = 0.05  # more of a box's ink than this outside the glyph canvas: overflowing
# more of the em square inked than this: crossed out (scribbled over); the heaviest
# glyphs of the corpus (Gugi's 짧, NanumGothic ExtraBold's) ink up to half of it
FILLED_SHARE = 0.65
STRIKE_LENGTH = 0.75  # a diagonal straight stroke this long (of the em): crossed out
STRIKE_SIDE = 0.06  # ... with paper this far (of the em) on both sides
STRIKE_CLEAR = 0.35  # ... along this share of its length
PREVIEW_PX_PER_MM = 4.0

EMPTY, CROSSED_OUT, OVERFLOWING = "empty", "crossed out", "overflowing"


@dataclass
class BoxReading:
    """What one box gave: a glyph, or the reason it was skipped; and a picture of it."""

    box: Box
    page: int
    glyph: np.ndarray | None
    problem: str | None
    picture: np.ndarray  # the box and its printed syllable, rectified, grey uint8 (paper 255)
    detail: str = ""

    @property
    def syllable(self) -> str:
        """The syllable the box was for."""
        return self.box.syllable


@dataclass
class PageReading:
    """The boxes of one photographed page."""

    path: Path
    page: Page
    boxes: list[BoxReading] = field(default_factory=list)


def canvas_to_page(box: Box, geometry: Geometry) -> np.ndarray:
    """3×3 matrix: a point of the glyph canvas (pixels, x right, y down, pixel edges on
    whole numbers) → the page, in mm. The printed em square is the glyph's em, centred
    on its usual advance; the printed baseline is its baseline row."""
    scale = EM / geometry.em_px
    advance_px = geometry.advance * geometry.em_px / geometry.units_per_em
    advance_centre = geometry.origin_x() + advance_px / 2
    left, top, side = box.em
    return np.array(
        [
            [scale, 0.0, left + side / 2 - advance_centre * scale],
            [0.0, scale, box.baseline_y - geometry.baseline_row * scale],
            [0.0, 0.0, 1.0],
        ]
    )


def _pad_px(geometry: Geometry) -> int:
    """Canvas pixels sampled on each side of the canvas: enough to hold the whole box and
    :data:`BORDER_MM` around it."""
    scale = EM / geometry.em_px
    reach = (BOX / 2 + BORDER_MM) / scale  # from the em centre, in pixels
    return int(np.ceil(reach - geometry.canvas / 2 + 2))


def _warp(image: np.ndarray, matrix: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``image`` sampled at output pixel (col, row) → ``matrix`` @ (col, row, 1), bilinear,
    paper (1.0) outside the photo."""
    from skimage.transform import ProjectiveTransform, warp

    return warp(
        image,
        ProjectiveTransform(matrix),
        output_shape=shape,
        order=1,
        cval=1.0,
        preserve_range=True,
    ).astype(np.float32)


def _bands(shape: tuple[int, int], to_sample: np.ndarray, box: Box, band: float) -> np.ndarray:
    """Mask of the samples within ``band`` mm of a printed line of ``box`` (its outline,
    the em square and the baseline)."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    inverse = np.linalg.inv(to_sample)
    x = inverse[0, 0] * (cols + 0.5) + inverse[0, 2]  # sample centre → page mm (affine)
    y = inverse[1, 1] * (rows + 0.5) + inverse[1, 2]
    mask = np.zeros(shape, dtype=bool)
    left, top, side = box.em
    squares = ((box.x, box.y, box.size), (left, top, side))
    for sx, sy, ss in squares:
        within_x = (x > sx - band) & (x < sx + ss + band)
        within_y = (y > sy - band) & (y < sy + ss + band)
        mask |= within_y & ((abs(x - sx) < band) | (abs(x - sx - ss) < band))
        mask |= within_x & ((abs(y - sy) < band) | (abs(y - sy - ss) < band))
    mask |= (abs(y - box.baseline_y) < band) & (x > left - band) & (x < left + side + band)
    return mask


def _region(shape: tuple[int, int], to_sample: np.ndarray, rect: tuple[float, ...]) -> np.ndarray:
    """Mask of the samples inside ``rect`` (left, top, right, bottom in page mm)."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    inverse = np.linalg.inv(to_sample)
    x = inverse[0, 0] * (cols + 0.5) + inverse[0, 2]
    y = inverse[1, 1] * (rows + 0.5) + inverse[1, 2]
    return (x >= rect[0]) & (x < rect[2]) & (y >= rect[1]) & (y < rect[3])


def _crossed_out(ink: np.ndarray, em_samples: float) -> bool:
    """Whether a long straight diagonal stroke runs through ``ink`` (a strike-out): Hangul's
    own diagonals (ㅅ, ㅈ, ㅊ) are far shorter than the em. In a heavy face (Gugi's 봤)
    the counters are so small that a long diagonal fits through the strokes: a strike is
    a line with paper on both sides along much of its length (:data:`STRIKE_CLEAR`)."""
    from skimage.transform import probabilistic_hough_line

    angles = np.deg2rad(np.concatenate([np.arange(25, 66, 2), np.arange(-65, -24, 2)]))
    lines = probabilistic_hough_line(
        ink,
        threshold=10,
        line_length=int(STRIKE_LENGTH * em_samples),
        line_gap=max(2, int(0.03 * em_samples)),
        theta=angles,
        rng=0,
    )
    reach = STRIKE_SIDE * em_samples
    for (x0, y0), (x1, y1) in lines:
        length = float(np.hypot(x1 - x0, y1 - y0))
        t = np.linspace(0, 1, max(2, int(length)))
        xs, ys = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
        nx, ny = -(y1 - y0) / length, (x1 - x0) / length
        clear = np.ones_like(t, dtype=bool)
        for side in (-1, 1):
            cols = np.clip(np.round(xs + side * reach * nx).astype(int), 0, ink.shape[1] - 1)
            rows = np.clip(np.round(ys + side * reach * ny).astype(int), 0, ink.shape[0] - 1)
            clear &= ~ink[rows, cols]
        if clear.mean() >= STRIKE_CLEAR:
            return True
    return False


def read_box(located: LocatedPage, box: Box, geometry: Geometry) -> BoxReading:
    """The glyph written in ``box`` of a located page, or why there is none."""
    from skimage.filters import threshold_sauvola
    from skimage.measure import label

    canvas = geometry.canvas
    pad = _pad_px(geometry)
    n = (canvas + 2 * pad) * SUPERSAMPLE
    # output sample (col, row) → canvas pixel → page mm → photo pixel
    to_canvas = np.array(
        [
            [1 / SUPERSAMPLE, 0, 0.5 / SUPERSAMPLE - pad],
            [0, 1 / SUPERSAMPLE, 0.5 / SUPERSAMPLE - pad],
            [0, 0, 1],
        ]
    )
    to_page = canvas_to_page(box, geometry) @ to_canvas
    samples = _warp(located.normalised, located.matrix @ to_page, (n, n))
    # page mm → sample index space (edges on whole numbers), for the masks
    to_sample = np.linalg.inv(to_page) + np.array([[0, 0, 0.5], [0, 0, 0.5], [0, 0, 0]])
    per_mm = SUPERSAMPLE * geometry.em_px / EM  # samples per mm
    window = max(3, int(SAUVOLA_WINDOW_MM * per_mm) | 1)
    local = threshold_sauvola(samples, window_size=window, k=SAUVOLA_K, r=0.5)
    # Sauvola finds faint strokes by their local contrast, but calls the inside of a wide
    # dark area (a marker stroke, a filled box) paper: what is clearly dark is ink anyway
    ink = (samples < INK_LEVEL) & ((samples < local) | (samples < SURE_INK_LEVEL))
    on_guides = _bands(samples.shape, to_sample, box, GUIDE_BAND_MM)
    ink &= ~on_guides | (samples < GUIDE_INK_LEVEL)
    inset = EDGE_INSET_MM
    inside = _region(
        samples.shape,
        to_sample,
        (box.x + inset, box.y + inset, box.x + box.size - inset, box.y + box.size - inset),
    )
    outside = ~_region(
        samples.shape,
        to_sample,
        (box.x - inset, box.y - inset, box.x + box.size + inset, box.y + box.size + inset),
    )
    labels = label(ink, connectivity=2)
    # the box's writing: blobs larger than a speck that reach inside the box
    keep = np.bincount(labels.ravel()) > SPECK_MM2 * per_mm**2
    keep[0] = False
    reaching = np.zeros_like(keep)
    reaching[np.unique(labels[inside & ink])] = True
    written = (keep & reaching)[labels]
    picture = _picture(located, box)
    area_mm2 = float((written & inside).sum()) / per_mm**2

    def result(glyph: np.ndarray | None, problem: str | None, detail: str = "") -> BoxReading:
        return BoxReading(box, located.page.number, glyph, problem, picture, detail)

    if area_mm2 < EMPTY_MM2:
        return result(None, EMPTY)
    if (written & outside).any():
        return result(None, OVERFLOWING, "ink over the box's edge")
    start, stop = pad * SUPERSAMPLE, (pad + canvas) * SUPERSAMPLE
    on_canvas = written[start:stop, start:stop]
    clipped = 1 - on_canvas.sum() / max(written.sum(), 1)
    if clipped > CLIPPED_SHARE:
        return result(None, OVERFLOWING, f"{clipped:.0%} of the ink beyond the em square")
    em_samples = EM * per_mm
    if on_canvas.mean() > FILLED_SHARE:
        return result(None, CROSSED_OUT, "filled in")
    if _crossed_out(written & inside, em_samples):
        return result(None, CROSSED_OUT, "struck through")
    coverage = on_canvas.reshape(canvas, SUPERSAMPLE, canvas, SUPERSAMPLE).mean(axis=(1, 3))
    return result(np.round(coverage * 255).astype(np.uint8), None)


def _picture(located: LocatedPage, box: Box) -> np.ndarray:
    """The box and the syllable printed above it, rectified, as grey uint8 (paper white)."""
    left, top = box.x - 1.0, box.y - LABEL_BAND
    width, height = box.size + 2.0, box.size + LABEL_BAND + 1.0
    step = 1 / PREVIEW_PX_PER_MM
    to_page = np.array([[step, 0, left + step / 2], [0, step, top + step / 2], [0, 0, 1]])
    shape = (int(round(height * PREVIEW_PX_PER_MM)), int(round(width * PREVIEW_PX_PER_MM)))
    picture = _warp(located.normalised, located.matrix @ to_page, shape)
    return np.clip(picture * 255, 0, 255).astype(np.uint8)


def read_page(path: str | Path, geometry: Geometry) -> PageReading:
    """Locate the page photographed at ``path`` and read every box of it."""
    located = locate_page(path)
    reading = PageReading(located.path, located.page)
    for box in located.page.boxes:
        reading.boxes.append(read_box(located, box, geometry))
    return reading


def read_pages(
    paths: Sequence[str | Path],
    geometry: Geometry,
    progress: Callable[[PageReading], None] | None = None,
) -> list[PageReading]:
    """Read photos of the pages of one sheet, in any order, into page order.

    ScanError naming the file for a photo that cannot be read, a page of another sheet, a
    page given twice, and when no box of any page holds writing (a blank sheet)."""
    readings: list[PageReading] = []
    for path in paths:
        reading = read_page(path, geometry)
        first = readings[0] if readings else None
        if first is not None and reading.page.sheet_id != first.page.sheet_id:
            raise ScanError(
                f"{reading.path}: a page of sheet {reading.page.sheet_id}, but {first.path} is "
                f"of sheet {first.page.sheet_id}; read the pages of one sheet together"
            )
        twin = next((r for r in readings if r.page.number == reading.page.number), None)
        if twin is not None:
            raise ScanError(
                f"{reading.path}: page {reading.page.number} again (also {twin.path}); "
                "give each page once"
            )
        readings.append(reading)
        if progress is not None:
            progress(reading)
    readings.sort(key=lambda r: r.page.number)
    if not any(b.glyph is not None for r in readings for b in r.boxes):
        names = ", ".join(str(r.path) for r in readings)
        if all(b.problem == EMPTY for r in readings for b in r.boxes):
            raise ScanError(f"{names}: no box holds writing (a blank sheet?)")
        raise ScanError(f"{names}: no box could be read (each is crossed out or overflowing)")
    return readings
