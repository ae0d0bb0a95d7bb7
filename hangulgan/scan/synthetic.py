"""Synthetic photographs of filled-in sheets, for tests, benchmarks and measurements.

:func:`fill_page` writes a font's syllables into a page's boxes (each with its own size
and position, as a hand would) and returns, for each, the glyph that a perfect reader
should give back: the same drawing put through the same placement
(:func:`hangulgan.scan.read.canvas_to_page`) straight into the glyph canvas.
:func:`photograph` then treats the page like a phone photo: printer blur, a page lying on
a table seen at an angle (perspective), a quarter or half turn, a lighting gradient and a
soft shadow, sensor noise, and JPEG compression.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hangulgan.data.placement import Geometry
from hangulgan.scan.layout import EM, PAPERS, Page
from hangulgan.scan.locate import fit_projective
from hangulgan.scan.read import canvas_to_page

EXPECTED_SUPERSAMPLE = 16
INK_GREY = 30  # a black pen on paper, as a camera sees it


@dataclass
class Written:
    """One syllable written into a box: its size (share of the em) and shift (mm)."""

    syllable: str
    scale: float
    dx: float
    dy: float


def _pen(font_path: str, size: float):
    from PIL import ImageFont

    return ImageFont.truetype(font_path, size=size)


def _pen_origin(written: Written, box, advance_em: float) -> tuple[float, float]:
    """Where the pen starts on the page (mm): the glyph's advance centred on the em square,
    shifted by the writer's jitter, standing on the printed baseline."""
    left, top, side = box.em
    width = written.scale * side * advance_em
    return left + side / 2 - width / 2 + written.dx, box.baseline_y + written.dy


def expected_glyph(font_path: str, written: Written, box, geometry: Geometry) -> np.ndarray:
    """The glyph a perfect reader gives for ``written`` in ``box``: the font's drawing under
    the same placement, rendered at 16× and averaged down to the canvas (uint8 ink)."""
    from PIL import Image, ImageDraw

    k = EXPECTED_SUPERSAMPLE
    size = geometry.canvas * k
    to_canvas = np.linalg.inv(canvas_to_page(box, geometry))
    em_px = written.scale * EM * to_canvas[0, 0] * k
    font = _pen(font_path, em_px)
    advance_em = font.getlength(written.syllable) / em_px
    ox, oy = _pen_origin(written, box, advance_em)
    x = (to_canvas[0, 0] * ox + to_canvas[0, 2]) * k
    y = (to_canvas[1, 1] * oy + to_canvas[1, 2]) * k
    image = Image.new("L", (size, size), 0)
    ImageDraw.Draw(image).text((x, y), written.syllable, font=font, fill=255, anchor="ls")
    big = np.asarray(image, dtype=np.float32)
    small = big.reshape(geometry.canvas, k, geometry.canvas, k).mean(axis=(1, 3))
    return np.round(small).astype(np.uint8)


def fill_page(
    page_image,
    page: Page,
    font_path: str | Path | Callable[[str], str | Path],
    geometry: Geometry,
    rng: np.random.Generator,
    skip: Iterable[str] = (),
    scale: tuple[float, float] = (0.72, 0.92),
    shift_mm: float = 1.0,
    offset_mm: tuple[float, float] = (0.0, 0.0),
):
    """Write the syllables of ``page`` (all but ``skip``) into ``page_image`` (the page
    rasterised, greyscale PIL, any dpi) with ``font_path`` (a font file, or a function
    giving the file that draws a syllable: a web font's subsets); each gets a random size
    within ``scale`` of the em and a shift of up to ``shift_mm`` after a fixed ``offset_mm``
    (x, y: where a writer puts the face off the guides). Returns the filled page and, per
    syllable, what was written and the glyph a perfect reader gives back."""
    from PIL import ImageDraw

    pen_of = font_path if callable(font_path) else (lambda syllable: font_path)
    image = page_image.copy()
    draw = ImageDraw.Draw(image)
    px_per_mm = image.width / PAPERS[page.paper][0]
    skipped = set(skip)
    truth: dict[str, tuple[Written, np.ndarray]] = {}
    for box in page.boxes:
        if box.syllable in skipped:
            continue
        written = Written(
            box.syllable,
            float(rng.uniform(*scale)),
            offset_mm[0] + float(rng.uniform(-shift_mm, shift_mm)),
            offset_mm[1] + float(rng.uniform(-shift_mm, shift_mm)),
        )
        font_path = str(pen_of(box.syllable))
        em_px = written.scale * EM * px_per_mm
        font = _pen(font_path, em_px)
        advance_em = font.getlength(box.syllable) / em_px
        ox, oy = _pen_origin(written, box, advance_em)
        draw.text(
            (ox * px_per_mm, oy * px_per_mm), box.syllable, font=font, fill=INK_GREY, anchor="ls"
        )
        truth[box.syllable] = (written, expected_glyph(font_path, written, box, geometry))
    return image, truth


def _tilt_corners(
    width: float, height: float, tilt_deg: float, spin_deg: float, rng: np.random.Generator
) -> np.ndarray:
    """The page's corners as a pinhole camera sees the page tilted by ``tilt_deg`` (about a
    random axis in its plane) and spun by ``spin_deg``: arbitrary units, centred on 0."""
    axis = rng.uniform(0, 2 * np.pi)
    tilt, spin = np.deg2rad(tilt_deg), np.deg2rad(spin_deg)
    ux, uy = np.cos(axis), np.sin(axis)
    # Rodrigues' rotation about (ux, uy, 0)
    k = np.array([[0, 0, uy], [0, 0, -ux], [-uy, ux, 0]])
    rotation = np.eye(3) + np.sin(tilt) * k + (1 - np.cos(tilt)) * (k @ k)
    spin_m = np.array(
        [[np.cos(spin), -np.sin(spin), 0], [np.sin(spin), np.cos(spin), 0], [0, 0, 1]]
    )
    corners = np.array(
        [
            [-width / 2, -height / 2, 0],
            [width / 2, -height / 2, 0],
            [width / 2, height / 2, 0],
            [-width / 2, height / 2, 0],
        ]
    )
    moved = corners @ (rotation @ spin_m).T
    distance = 1.5 * max(width, height)
    return moved[:, :2] * distance / (distance + moved[:, 2:3])


def photograph(
    page_image,
    rng: np.random.Generator,
    tilt_deg: float = 15.0,
    turn: int = 0,
    long_side: int = 2000,
    quality: int = 60,
    shadow: bool = True,
    dpi: float = 200.0,
) -> bytes:
    """A JPEG (bytes) of ``page_image`` (greyscale PIL) as a phone would take it: printer
    blur, the page on a darker table seen ``tilt_deg`` off square with a small spin,
    turned ``turn`` degrees (0, 90, 180, 270), a lighting gradient and (with ``shadow``)
    a soft shadow, noise, JPEG at ``quality``. ``dpi`` is the page image's resolution."""
    from PIL import Image, ImageDraw, ImageFilter

    px_per_mm = dpi / 25.4
    page = page_image.filter(ImageFilter.GaussianBlur(0.1 * px_per_mm))  # toner spread
    w, h = page.size
    seen = _tilt_corners(w, h, tilt_deg, float(rng.uniform(-6, 6)), rng)
    span = seen.max(axis=0) - seen.min(axis=0)
    fit = 0.86 * long_side / max(span)
    out_w, out_h = (int(span[0] * fit / 0.86), int(span[1] * fit / 0.86))
    target = (seen - seen.min(axis=0)) * fit + np.array([out_w, out_h]) * 0.07
    source = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    transform = fit_projective(target, source)  # photo pixel → page pixel, as PIL wants it
    m = transform.params / transform.params[2, 2]
    coefficients = (m[0, 0], m[0, 1], m[0, 2], m[1, 0], m[1, 1], m[1, 2], m[2, 0], m[2, 1])
    table = int(rng.integers(70, 120))
    photo = page.transform(
        (out_w, out_h), Image.PERSPECTIVE, coefficients, resample=Image.BICUBIC, fillcolor=table
    )
    if turn:
        photo = photo.transpose(
            {90: Image.ROTATE_90, 180: Image.ROTATE_180, 270: Image.ROTATE_270}[turn]
        )
    pixels = np.asarray(photo, dtype=np.float32)
    rows, cols = np.mgrid[0 : pixels.shape[0], 0 : pixels.shape[1]].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * cols / pixels.shape[1] + np.sin(angle) * rows / pixels.shape[0]
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    light = 1.0 - float(rng.uniform(0.3, 0.45)) * ramp
    if shadow:
        mask = Image.new("L", (pixels.shape[1], pixels.shape[0]), 0)
        cx, cy = rng.uniform(0.2, 0.8) * mask.width, rng.uniform(0.2, 0.8) * mask.height
        rx, ry = 0.25 * mask.width, 0.18 * mask.height
        ImageDraw.Draw(mask).ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=255)
        mask = mask.filter(ImageFilter.GaussianBlur(0.06 * mask.width))
        light *= 1.0 - float(rng.uniform(0.3, 0.4)) * np.asarray(mask, np.float32) / 255
    pixels = pixels * light + rng.normal(0, 4.0, pixels.shape)
    grey = np.clip(pixels, 0, 255)
    colour = np.stack([grey, grey * 0.97, grey * 0.9], axis=-1).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(colour, "RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def with_exif_turn(jpeg: bytes, orientation: int = 6) -> bytes:
    """The same photo stored as a camera held sideways stores it: the pixels turned and
    the EXIF orientation tag (6: turn 90° clockwise to view) saying how to turn them back."""
    from PIL import Image

    undo = {3: Image.ROTATE_180, 6: Image.ROTATE_90, 8: Image.ROTATE_270}[orientation]
    with Image.open(io.BytesIO(jpeg)) as image:
        stored = image.transpose(undo)
        exif = Image.Exif()
        exif[0x0112] = orientation
        buffer = io.BytesIO()
        stored.save(buffer, format="JPEG", quality=90, exif=exif.tobytes())
    return buffer.getvalue()
