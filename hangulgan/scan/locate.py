"""Find a photographed sheet page: read its QR code, even out the lighting, find the four
registration marks, and fit the perspective that maps the printed page onto the photo.

The code (read by zxing-cpp, offline) says which page of which sheet this is and, through
its four corners, roughly where the page lies in any of the four orientations. That guess
(affine: the code is too small to tell perspective) only has to be good to several
centimetres: each registration mark is then looked for near where the guess puts it, and
the four marks' centres fix the perspective
(scikit-image's :class:`~skimage.transform.ProjectiveTransform`) to a fraction of a
millimetre. A mark that cannot be found (covered, outside the photo) stops the reading
with a message naming it, as does a code of another sheet version or no code at all.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hangulgan.scan import ScanError
from hangulgan.scan.layout import (
    CORNERS,
    MARK_HOLE,
    MARK_SIZE,
    CodeError,
    Page,
    code_matrix,
    decode_code,
)

# The background (paper brightness) is estimated on a copy of about this many pixels per
# mm, with a closing wider than anything printed dark (the 8 mm marks): what remains is
# the paper's own light, shadows and gradients included.
BACKGROUND_PX_PER_MM = 1.0
BACKGROUND_CLOSING_MM = 15
BACKGROUND_BLUR_MM = 4.0
MARK_LEVEL = 0.5  # a mark pixel is darker than half the paper
# How far from where the code's affine guess puts a mark it is looked for: the guess is off
# by 75 mm at the far corners of a page photographed 25° off square; the nearest other mark
# lies 180 mm away, so a covered mark is never stood in for by another.
MARK_SEARCH_MM = 120.0
MARK_HOLE_SHARE = (MARK_HOLE / MARK_SIZE) ** 2  # of the filled square: 0.2
CODE_CHECK_MM = 4.0  # the fitted page must put the code's corners this close to zxing's
MIN_PX_PER_MM = 2.5  # below this a box's glyph is drawn from too few pixels


@dataclass
class LocatedPage:
    """A photographed page, found: its layout and where it lies in the photo."""

    path: Path
    page: Page
    # page millimetres (x right, y down from the top-left corner) → photo pixel (col, row)
    matrix: np.ndarray
    normalised: np.ndarray  # the photo in grey, divided by its paper's brightness (paper ≈ 1)
    px_per_mm: float


def load_photo(path: Path) -> np.ndarray:
    """The photo as a 2-D uint8 grey array, turned upright by its EXIF orientation."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            image = ImageOps.exif_transpose(opened)
            if image.mode in ("RGBA", "LA", "P"):
                image = image.convert("RGBA")
                ground = Image.new("RGBA", image.size, (255, 255, 255, 255))
                image = Image.alpha_composite(ground, image)
            grey = np.asarray(image.convert("L"), dtype=np.uint8)
    except FileNotFoundError:
        raise ScanError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as err:
        raise ScanError(f"{path}: not a readable image ({err})") from None
    if min(grey.shape) < 200:
        raise ScanError(f"{path}: {grey.shape[1]}×{grey.shape[0]} pixels is too small for a page")
    return grey


def read_code(grey: np.ndarray, path: Path) -> tuple[Page, np.ndarray, int]:
    """The page the photo's sheet code describes, the code symbol's four corners in the
    photo (its own top-left, top-right, bottom-right, bottom-left) and its module count."""
    import zxingcpp

    found = zxingcpp.read_barcodes(grey, formats=zxingcpp.BarcodeFormat.QRCode)
    scale = 1.0
    if not found:
        # a photo in dim light: stretch the contrast and look once more
        low, high = np.percentile(grey, (1, 99))
        if high - low > 10:
            stretched = np.clip((grey.astype(np.float32) - low) * (255 / (high - low)), 0, 255)
            found = zxingcpp.read_barcodes(
                stretched.astype(np.uint8), formats=zxingcpp.BarcodeFormat.QRCode
            )
    if not found and max(grey.shape) < 3000:
        # a small photo: the code's modules may be under two pixels; zxing reads them
        # better drawn twice as large (corners scaled back below)
        from PIL import Image

        big = Image.fromarray(grey).resize((grey.shape[1] * 2, grey.shape[0] * 2), Image.BICUBIC)
        found = zxingcpp.read_barcodes(np.asarray(big), formats=zxingcpp.BarcodeFormat.QRCode)
        scale = 0.5
    if not found:
        raise ScanError(
            f"{path}: no hangulgan sheet code found (is this a photo of a template page? "
            "photograph the whole page, sharp and evenly lit)"
        )
    ours = [code for code in found if code.text.startswith("HG")]
    if len(ours) > 1:
        raise ScanError(f"{path}: holds {len(ours)} sheet codes; photograph one page at a time")
    code = ours[0] if ours else found[0]
    try:
        page = decode_code(code.text)
    except CodeError as err:
        raise ScanError(f"{path}: {err}") from None
    position = code.position
    corners = np.array(
        [
            [position.top_left.x, position.top_left.y],
            [position.top_right.x, position.top_right.y],
            [position.bottom_right.x, position.bottom_right.y],
            [position.bottom_left.x, position.bottom_left.y],
        ],
        dtype=np.float64,
    )
    corners *= scale  # back to the photo's pixels (to within a pixel: all the guess needs)
    modules = len(code_matrix(code.text))
    return page, corners, modules


def code_corners_mm(page: Page, modules: int) -> np.ndarray:
    """The QR symbol's four outer corners on the page, in mm (clockwise from top-left):
    the printed code square holds the symbol inside a quiet zone of four modules."""
    left, top, side = page.code_rect
    step = side / (modules + 8)
    near, far = 4 * step, (4 + modules) * step
    return np.array(
        [
            [left + near, top + near],
            [left + far, top + near],
            [left + far, top + far],
            [left + near, top + far],
        ]
    )


def normalise_lighting(grey: np.ndarray, px_per_mm: float) -> np.ndarray:
    """``grey`` divided by an estimate of the paper's brightness at each pixel, so that paper
    is about 1 and ink well below it wherever the light falls: a grey closing (of a copy
    about 1 px/mm) wider than any printed or written mark, smoothed, scaled back up."""
    from PIL import Image
    from scipy import ndimage

    factor = max(1, int(round(px_per_mm / BACKGROUND_PX_PER_MM)))
    small = np.asarray(Image.fromarray(grey).reduce(factor), dtype=np.float32)
    size = max(3, int(round(BACKGROUND_CLOSING_MM * px_per_mm / factor)))
    background = ndimage.grey_closing(small, size=(size, size))
    background = ndimage.gaussian_filter(background, BACKGROUND_BLUR_MM * px_per_mm / factor)
    full = Image.fromarray(background).resize((grey.shape[1], grey.shape[0]), Image.BILINEAR)
    background = np.maximum(np.asarray(full, dtype=np.float32), 8.0)
    return np.minimum(grey.astype(np.float32) / background, 1.5)


def fit_projective(source: np.ndarray, target: np.ndarray):
    """The perspective mapping ``source`` points onto ``target`` ones; None if degenerate."""
    from skimage.transform import ProjectiveTransform

    transform = ProjectiveTransform()
    # ``estimate`` (deprecated in 0.26 for ``from_estimate``) works on every version >= 0.22
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        ok = transform.estimate(source, target)
    return transform if ok and np.isfinite(transform.params).all() else None


def _affine(source: np.ndarray, target: np.ndarray):
    """The least-squares affine mapping of ``source`` points onto ``target`` ones."""
    from skimage.transform import AffineTransform

    transform = AffineTransform()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        transform.estimate(source, target)
    return transform


@dataclass(frozen=True)
class MarkBlob:
    """A dark blob shaped like a registration mark: its centre (col, row) in the photo, its
    area with holes filled (pixels), and whether it has a hole (the top-left mark does)."""

    centre: tuple[float, float]
    area: float
    hole: bool


def mark_blobs(normalised: np.ndarray, px_per_mm: float) -> list[MarkBlob]:
    """Every blob of the photo that could be a registration mark: darker than
    :data:`MARK_LEVEL`, of a mark's area give or take what perspective does to it
    (``px_per_mm`` is the scale near the code), filling its convex hull, about square."""
    from scipy import ndimage
    from skimage.measure import label, regionprops

    expected = MARK_SIZE**2 * px_per_mm**2
    labels = label(normalised < MARK_LEVEL, connectivity=2)
    areas = np.bincount(labels.ravel())
    # perspective changes a mark's area by up to about half either way; the top-left ring's
    # own area is 80 % of its filled square's; the code's finder patterns (4 mm) are far
    # below the lower bound
    plausible = (areas >= 0.3 * expected) & (areas <= 2.5 * expected)
    plausible[0] = False
    labels[~plausible[labels]] = 0
    blobs = []
    for region in regionprops(labels):
        filled = float(ndimage.binary_fill_holes(region.image).sum())
        if not 0.4 * expected <= filled <= 2.5 * expected:
            continue
        if filled / max(region.area_convex, 1) < 0.85:
            continue
        height, width = region.bbox[2] - region.bbox[0], region.bbox[3] - region.bbox[1]
        if max(height, width) > 2.0 * min(height, width):
            continue
        row, col = region.centroid
        hole = (filled - region.area) / filled > MARK_HOLE_SHARE / 2
        blobs.append(MarkBlob((float(col), float(row)), filled, bool(hole)))
    return blobs


def _nearest(blobs: list[MarkBlob], point: np.ndarray, hole: bool, reach: float) -> list[MarkBlob]:
    """The blobs with (or without) a hole within ``reach`` pixels of ``point``, nearest first."""
    near = [
        (float(np.hypot(b.centre[0] - point[0], b.centre[1] - point[1])), i)
        for i, b in enumerate(blobs)
        if b.hole == hole
    ]
    return [blobs[i] for d, i in sorted(near) if d <= reach]


def locate_page(path: str | Path) -> LocatedPage:
    """Read the photo at ``path`` and find the page in it; ScanError naming the file when
    it is unreadable, holds no sheet code (or one of another version), is too small, or a
    registration mark is not visible."""
    path = Path(path)
    grey = load_photo(path)
    page, corners_px, modules = read_code(grey, path)
    corners_mm = code_corners_mm(page, modules)
    side_px = np.mean(np.hypot(*(np.roll(corners_px, -1, axis=0) - corners_px).T))
    px_per_mm = float(side_px / (corners_mm[1, 0] - corners_mm[0, 0]))
    if px_per_mm < MIN_PX_PER_MM:
        raise ScanError(
            f"{path}: the page is too small in the photo ({px_per_mm:.1f} pixels per mm, "
            f"{MIN_PX_PER_MM} needed): photograph it closer or at a higher resolution"
        )
    normalised = normalise_lighting(grey, px_per_mm)
    # The code is small, so the page's perspective guessed from its corners alone is poor far
    # from it: an affine guess (no perspective) puts the far marks within a few centimetres.
    guess = _affine(corners_mm, corners_px)
    blobs = mark_blobs(normalised, px_per_mm)
    reach = MARK_SEARCH_MM * px_per_mm
    options = []
    for corner, centre_mm in zip(CORNERS, page.marks, strict=True):
        point = guess(np.array([centre_mm]))[0]
        near = _nearest(blobs, point, corner == "top-left", reach)
        if not near:
            mirrored = _nearest(blobs, point, corner != "top-left", reach / 3)
            if mirrored:
                raise ScanError(
                    f"{path}: the registration marks do not fit the sheet code (the {corner} "
                    f"mark {'lacks' if corner == 'top-left' else 'has'} a hole): is the photo "
                    "mirrored?"
                )
            raise ScanError(
                f"{path}: the {corner} registration mark is not visible (covered, or outside "
                "the photo): photograph the whole page with its four corner marks"
            )
        options.append(near[:3])
    best = None
    for choice in itertools.product(*options):
        if len({id(blob) for blob in choice}) < len(choice):
            continue
        transform = fit_projective(np.array(page.marks), np.array([blob.centre for blob in choice]))
        if transform is None:
            continue
        error_px = float(np.hypot(*(transform(corners_mm) - corners_px).T).max())
        if best is None or error_px < best[0]:
            best = (error_px, transform)
    if best is None:
        raise ScanError(f"{path}: the registration marks do not form a page")
    error_px, transform = best
    if error_px > CODE_CHECK_MM * px_per_mm:
        raise ScanError(
            f"{path}: the registration marks and the sheet code disagree by "
            f"{error_px / px_per_mm:.0f} mm (is the page folded or curled? lay it flat)"
        )
    return LocatedPage(path, page, transform.params.copy(), normalised, px_per_mm)
