"""from-scan's reading on synthetic photos of the project's own template: a handwriting font
written into the boxes with jitter in size and position, then blurred as a printer does,
photographed at up to 15° off square, turned, unevenly lit and shadowed, noisy, JPEG at
quality 60. Every box must come back, none swapped, with a mean ink IoU ≥ 0.85 at 32 px
against the font's glyphs put through the same placement."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hangulgan.data.placement import Geometry
from hangulgan.scan.layout import make_sheet
from hangulgan.scan.read import EMPTY, read_page
from hangulgan.scan.synthetic import fill_page, photograph, with_exif_turn

from conftest import NANUM, debian_font

DPI = 200
MIN_MEAN_IOU = 0.85


@pytest.fixture(scope="module")
def geometry() -> Geometry:
    from hangulgan.scan.font import generator_placement

    return Geometry.from_meta(generator_placement()["geometry"])


@pytest.fixture(scope="module")
def blank_page(tmp_path_factory):
    from hangulgan.models.styled_split import greedy_reference_cover
    from hangulgan.scan.template import draw_pdf, rasterise

    sheet = make_sheet(greedy_reference_cover(24))
    pdf = tmp_path_factory.mktemp("sheet") / "sheet.pdf"
    draw_pdf(sheet, pdf)
    return sheet.pages[0], rasterise(pdf, DPI)[0]


@pytest.fixture(scope="module")
def pen() -> Path:
    return debian_font(NANUM / "NanumPen.ttf")


def ink_iou(a: np.ndarray, b: np.ndarray) -> float:
    try:
        from hangulgan.eval.metrics import ink_iou as metric
    except ImportError:  # the metric's own module moved: the same definition
        ink_a, ink_b = a >= 128, b >= 128
        union = (ink_a | ink_b).sum()
        return float((ink_a & ink_b).sum() / union) if union else 1.0
    return float(metric(a[None], b[None])[0])


def check_reading(reading, truth: dict) -> float:
    """Every written box read, each closest to its own syllable's truth; the mean IoU."""
    read = {box.syllable: box.glyph for box in reading.boxes if box.glyph is not None}
    assert set(read) == set(truth), [(b.syllable, b.problem, b.detail) for b in reading.boxes]
    names = sorted(truth)
    scores = np.array([[ink_iou(read[a], truth[b][1]) for b in names] for a in names])
    assert (scores.argmax(axis=1) == np.arange(len(names))).all(), "a box was swapped"
    return float(np.diag(scores).mean())


@pytest.mark.parametrize("turn", [90, 180])
def test_a_photo_gives_back_what_was_written(tmp_path, blank_page, pen, geometry, turn):
    page, image = blank_page
    rng = np.random.default_rng(turn)
    filled, truth = fill_page(image, page, pen, geometry, rng)
    photo = tmp_path / "page.jpg"
    photo.write_bytes(photograph(filled, rng, tilt_deg=15, turn=turn, quality=60, dpi=DPI))
    reading = read_page(photo, geometry)
    assert reading.page.number == 1 and reading.page.syllables == page.syllables
    assert check_reading(reading, truth) >= MIN_MEAN_IOU


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
def test_photos_at_every_turn_and_exif_rotation(tmp_path, blank_page, pen, geometry, seed):
    page, image = blank_page
    rng = np.random.default_rng(100 + seed)
    filled, truth = fill_page(image, page, pen, geometry, rng)
    jpeg = photograph(filled, rng, tilt_deg=15, turn=(0, 90, 180, 270)[seed], dpi=DPI)
    photo = tmp_path / "page.jpg"
    photo.write_bytes(with_exif_turn(jpeg, (3, 6, 8, 6)[seed]))
    assert check_reading(read_page(photo, geometry), truth) >= MIN_MEAN_IOU


def test_a_syllable_written_small_and_high_stays_small_and_high(
    tmp_path, blank_page, pen, geometry
):
    page, image = blank_page
    rng = np.random.default_rng(7)
    small, _ = fill_page(image, page, pen, geometry, rng, scale=(0.5, 0.5), shift_mm=0)
    photo = tmp_path / "small.png"
    small.convert("RGB").save(photo)
    reading = read_page(photo, geometry)
    big, _ = fill_page(image, page, pen, geometry, rng, scale=(0.9, 0.9), shift_mm=0)
    big.convert("RGB").save(photo)
    big_reading = read_page(photo, geometry)
    for a, b in zip(reading.boxes, big_reading.boxes, strict=True):
        rows_small = np.flatnonzero(a.glyph.max(axis=1) >= 128)
        rows_big = np.flatnonzero(b.glyph.max(axis=1) >= 128)
        # both stand on the baseline: the small one's ink is about half as tall
        assert abs(rows_small[-1] - rows_big[-1]) <= 3
        assert 0.35 < len(rows_small) / len(rows_big) < 0.7


def test_empty_crossed_out_and_overflowing_boxes_are_named(tmp_path, blank_page, pen, geometry):
    from PIL import ImageDraw

    page, image = blank_page
    rng = np.random.default_rng(3)
    boxes = page.boxes
    empty, crossed, filled_in, over = boxes[1], boxes[5], boxes[9], boxes[14]
    written, truth = fill_page(image, page, pen, geometry, rng, skip=[empty.syllable])
    draw = ImageDraw.Draw(written)
    per_mm = written.width / 210

    def mm(*values: float) -> list[float]:
        return [v * per_mm for v in values]

    left, top, side = crossed.em
    draw.line(mm(left, top, left + side, top + side), fill=20, width=int(0.8 * per_mm))
    draw.line(mm(left + side, top, left, top + side), fill=20, width=int(0.8 * per_mm))
    left, top, side = filled_in.em
    draw.rectangle(mm(left + 1, top + 1, left + side - 1, top + side - 1), fill=25)
    draw.line(
        mm(over.x + 5, over.y + 10, over.x + over.size + 4, over.y + 12),
        fill=20,
        width=int(0.8 * per_mm),
    )
    photo = tmp_path / "page.jpg"
    photo.write_bytes(photograph(written, rng, tilt_deg=10, dpi=DPI))
    reading = read_page(photo, geometry)
    problems = {b.syllable: b.problem for b in reading.boxes if b.problem}
    assert problems == {
        empty.syllable: EMPTY,
        crossed.syllable: "crossed out",
        filled_in.syllable: "crossed out",
        over.syllable: "overflowing",
    }
    rest = {k: v for k, v in truth.items() if k not in problems}
    assert (
        check_reading(
            type(reading)(reading.path, reading.page, [b for b in reading.boxes if not b.problem]),
            rest,
        )
        >= MIN_MEAN_IOU
    )


def test_the_placement_is_the_corpus_s(tmp_path, blank_page, geometry):
    """A font written at full size, centred on the em square and standing on the printed
    baseline, reads back as the corpus renders that font: same place, same size (not only
    as the synthetic oracle says, which shares the reader's mapping)."""
    from hangulgan.data.render import FaceRenderer

    gothic = debian_font(NANUM / "NanumGothic.ttf")  # the shipped weights' content face
    page, image = blank_page
    rng = np.random.default_rng(5)
    written, truth = fill_page(image, page, gothic, geometry, rng, scale=(1, 1), shift_mm=0)
    photo = tmp_path / "page.jpg"
    photo.write_bytes(photograph(written, rng, tilt_deg=10, turn=270, dpi=DPI))
    reading = read_page(photo, geometry)
    renderer = FaceRenderer(str(gothic), 0, geometry.canvas, "em")
    assert renderer.geometry.baseline_row == geometry.baseline_row
    rendered = renderer.render([ord(ch) for ch in page.syllables])
    corpus = dict(zip(rendered.codepoints.tolist(), rendered.images, strict=True))
    rows, cols = np.mgrid[0 : geometry.canvas, 0 : geometry.canvas]

    def centre(image: np.ndarray) -> np.ndarray:
        weights = image.astype(np.float64)
        return np.array([(weights * cols).sum(), (weights * rows).sum()]) / weights.sum()

    read_scores, oracle_scores, shifts = [], [], []
    for box in reading.boxes:
        reference = corpus[ord(box.syllable)]
        read_scores.append(ink_iou(box.glyph, reference))
        oracle_scores.append(ink_iou(truth[box.syllable][1], reference))
        shifts.append(centre(box.glyph) - centre(reference))
    assert np.mean(oracle_scores) >= 0.9
    assert np.mean(read_scores) >= 0.8
    assert np.abs(np.mean(shifts, axis=0)).max() < 0.3  # pixels: no drift in x or y


@pytest.mark.slow
@pytest.mark.parametrize(
    ("tilt", "long_side", "seed", "turn"), [(25, 1600, 1, 90), (15, 1000, 0, 0)]
)
def test_a_steep_or_small_photo_is_still_read(
    tmp_path, blank_page, pen, geometry, tilt, long_side, seed, turn
):
    """Beyond the issue's 15°: the far marks are found though the code's guess misses them by
    7 cm; a photo of 1,000 pixels (code modules under 2 pixels) is still read."""
    page, image = blank_page
    filled, truth = fill_page(image, page, pen, geometry, np.random.default_rng(0))
    photo = tmp_path / "page.jpg"
    photo.write_bytes(
        photograph(
            filled,
            np.random.default_rng(seed),
            tilt_deg=tilt,
            turn=turn,
            long_side=long_side,
            dpi=DPI,
        )
    )
    assert check_reading(read_page(photo, geometry), truth) >= 0.8


def test_a_pen_per_syllable_and_a_fixed_offset(blank_page, pen, geometry):
    """fill_page takes a function giving each syllable's font file (a web font's subsets)
    and moves the writing by a fixed offset: the truth it returns moves with it."""
    page, image = blank_page
    asked: list[str] = []

    def pen_of(syllable: str) -> str:
        asked.append(syllable)
        return str(pen)

    still = {"scale": (1.0, 1.0), "shift_mm": 0.0}
    _, plain = fill_page(image, page, pen, geometry, np.random.default_rng(0), **still)
    _, moved = fill_page(
        image, page, pen_of, geometry, np.random.default_rng(0), offset_mm=(0.0, 2.0), **still
    )
    assert asked == [box.syllable for box in page.boxes]
    for syllable, (written, glyph) in moved.items():
        assert (written.dx, written.dy) == (0.0, 2.0)
        rows = np.flatnonzero(glyph.max(axis=1) >= 128)
        rows_plain = np.flatnonzero(plain[syllable][1].max(axis=1) >= 128)
        # 2 mm of a box's em is some pixels lower on the 32-px canvas
        assert rows[-1] > rows_plain[-1] or rows[-1] == glyph.shape[0] - 1


@pytest.mark.parametrize("font", ["NanumGothicExtraBold.ttf", "NanumSquareEB.ttf"])
def test_a_heavy_hand_is_read_not_taken_for_crossed_out(tmp_path, geometry, font):
    """Written heavy and at full size (a marker pen), dense syllables ink nearly half the em
    and a long diagonal fits through their small counters: they were reported as "filled
    in" or "struck through" (Gugi's 봤 and 짧 in benchmarks/bench_handwriting.py)."""
    from hangulgan.models.styled_split import greedy_reference_cover
    from hangulgan.scan.template import draw_pdf, rasterise

    heavy = debian_font(NANUM / font)
    sheet = make_sheet(greedy_reference_cover(64)[:42])  # one full page, 짧 and 봤 on it
    draw_pdf(sheet, tmp_path / "sheet.pdf")
    page_image = rasterise(tmp_path / "sheet.pdf", DPI)[0]
    rng = np.random.default_rng(5)
    written, truth = fill_page(
        page_image, sheet.pages[0], heavy, geometry, rng, scale=(1.0, 1.0), shift_mm=0.3
    )
    photo = tmp_path / "page.jpg"
    photo.write_bytes(photograph(written, rng, tilt_deg=10, quality=60, dpi=DPI))
    assert check_reading(read_page(photo, geometry), truth) >= MIN_MEAN_IOU
