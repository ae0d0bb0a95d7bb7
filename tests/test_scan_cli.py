"""hangulgan from-scan on the command line: pages in any order, boxes left blank, and bad
input (a covered mark, a photo of something else, a sheet of another version, a blank
sheet) refused with one line naming the file, exit 2 and nothing at --out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hangulgan.data.glyphset import GlyphSet
from hangulgan.data.placement import Geometry
from hangulgan.scan import layout
from hangulgan.scan.layout import make_sheet
from hangulgan.scan.synthetic import fill_page, photograph

from conftest import NANUM, debian_font, run_cli

DPI = 150


@pytest.fixture(scope="module")
def geometry() -> Geometry:
    from hangulgan.scan.font import generator_placement

    return Geometry.from_meta(generator_placement()["geometry"])


@pytest.fixture(scope="module")
def pen() -> Path:
    return debian_font(NANUM / "NanumPen.ttf")


def page_images(syllables: str, folder: Path) -> tuple[layout.Sheet, list]:
    from hangulgan.scan.template import draw_pdf, rasterise

    sheet = make_sheet(syllables)
    draw_pdf(sheet, folder / "sheet.pdf")
    return sheet, rasterise(folder / "sheet.pdf", DPI)


def shoot(image, path: Path, seed: int, turn: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    path.write_bytes(photograph(image, rng, tilt_deg=12, turn=turn, dpi=DPI, long_side=1800))
    return path


@pytest.fixture(scope="module")
def one_page(tmp_path_factory, pen, geometry):
    folder = tmp_path_factory.mktemp("one")
    sheet, (image,) = page_images("다헌쳇입술특꽃봤뺨쥐규례", folder)
    return sheet.pages[0], image


def assert_refused(tmp_path: Path, photo: Path, words: str) -> None:
    out = tmp_path / "MyHand"
    code, text = run_cli("from-scan", photo, "--out", out)
    assert code == 2, text
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(photo) in errors[0] and words in errors[0], text
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".MyHand")]


def test_a_covered_mark_is_refused(tmp_path, one_page, pen, geometry):
    from PIL import ImageDraw

    page, image = one_page
    written, _ = fill_page(image, page, pen, geometry, np.random.default_rng(0))
    per_mm = written.width / 210
    x, y = page.marks[1]  # a thumb over the top-right mark
    ImageDraw.Draw(written).ellipse(
        [(x - 9) * per_mm, (y - 7) * per_mm, (x + 12) * per_mm, (y + 14) * per_mm], fill=140
    )
    assert_refused(tmp_path, shoot(written, tmp_path / "thumb.jpg", 1), "top-right")


def test_a_photo_of_something_else_is_refused(tmp_path):
    from PIL import Image, ImageDraw

    scene = Image.new("RGB", (1600, 1200), (120, 150, 90))
    draw = ImageDraw.Draw(scene)
    for i in range(40):
        draw.ellipse(
            (i * 37 % 1500, i * 53 % 1100, i * 37 % 1500 + 90, i * 53 % 1100 + 60),
            fill=(200, 40 + i * 4, 60),
        )
    photo = tmp_path / "garden.jpg"
    scene.save(photo, quality=80)
    assert_refused(tmp_path, photo, "no hangulgan sheet code")
    (tmp_path / "notes.txt").write_text("not a picture")
    assert_refused(tmp_path, tmp_path / "notes.txt", "not a readable image")
    assert_refused(tmp_path, tmp_path / "missing.jpg", "no such file")


def test_a_sheet_of_another_version_is_refused(tmp_path, monkeypatch, pen, geometry):
    monkeypatch.setattr(layout, "SHEET_VERSION", 2)  # the template of a future hangulgan
    sheet, (image,) = page_images("다헌쳇입술", tmp_path)
    assert sheet.pages[0].code.startswith("HG2.")
    monkeypatch.undo()
    written, _ = fill_page(image, sheet.pages[0], pen, geometry, np.random.default_rng(2))
    assert_refused(tmp_path, shoot(written, tmp_path / "v2.jpg", 2), "version 2")


def test_a_blank_sheet_is_refused(tmp_path, one_page):
    _, image = one_page
    assert_refused(tmp_path, shoot(image, tmp_path / "blank.jpg", 3, turn=180), "no box holds")


def test_blank_boxes_are_listed_and_the_rest_kept(tmp_path, one_page, pen, geometry):
    page, image = one_page
    left_out = ["헌", "봤", "규"]
    written, truth = fill_page(image, page, pen, geometry, np.random.default_rng(4), skip=left_out)
    photo = shoot(written, tmp_path / "page.jpg", 4, turn=90)
    out = tmp_path / "MyHand"
    code, text = run_cli("from-scan", photo, "--out", out)
    assert code == 1, text  # done, some input skipped
    for syllable in left_out:
        assert f"skipped {syllable} on page 1: empty" in text
    glyphs = GlyphSet.load(out)
    assert glyphs.text == "".join(ch for ch in page.syllables if ch not in left_out)
    assert glyphs.meta["source"] == "hangulgan from-scan"
    assert glyphs.meta["placement"] == "em" and "geometry" in glyphs.meta
    skipped = glyphs.meta["scan"]["skipped"]
    assert [s["syllable"] for s in skipped] == left_out
    assert (out / "preview.png").is_file()


def test_two_pages_in_reverse_order(tmp_path, pen, geometry):
    from hangulgan.models.styled_split import greedy_reference_cover

    syllables = greedy_reference_cover(50)
    sheet, images = page_images(syllables, tmp_path)
    assert len(sheet.pages) == 2
    photos = []
    for n, (page, image) in enumerate(zip(sheet.pages, images, strict=True)):
        written, _ = fill_page(image, page, pen, geometry, np.random.default_rng(10 + n))
        photos.append(shoot(written, tmp_path / f"p{n + 1}.jpg", 10 + n, turn=(270, 0)[n]))
    out = tmp_path / "MyHand"
    code, text = run_cli("from-scan", photos[1], photos[0], "--out", out)
    assert code == 0, text
    assert GlyphSet.load(out).text == syllables
    # one page alone is read too, and the missing one named
    code, text = run_cli("from-scan", photos[1], "--out", tmp_path / "half")
    assert code == 0 and "pages not given: 1" in text
    # a page twice, and pages of two different sheets, are refused
    code, text = run_cli("from-scan", photos[0], photos[0], "--out", tmp_path / "twice")
    assert code == 2 and "page 1 again" in text
    (tmp_path / "other").mkdir()
    other, (image,) = page_images("가나다", tmp_path / "other")
    written, _ = fill_page(image, other.pages[0], pen, geometry, np.random.default_rng(5))
    stranger = shoot(written, tmp_path / "other.jpg", 5)
    code, text = run_cli("from-scan", photos[0], stranger, "--out", tmp_path / "mixed")
    assert code == 2 and "read the pages of one sheet together" in text
    assert not (tmp_path / "mixed").exists() and not (tmp_path / "twice").exists()


def test_force_replaces_only_a_folder_from_scan_made(tmp_path, one_page, pen, geometry):
    page, image = one_page
    written, _ = fill_page(image, page, pen, geometry, np.random.default_rng(6))
    photo = shoot(written, tmp_path / "page.jpg", 6)
    out = tmp_path / "MyHand"
    assert run_cli("from-scan", photo, "--out", out)[0] == 0
    code, text = run_cli("from-scan", photo, "--out", out)
    assert code == 2 and "already exists" in text
    assert run_cli("from-scan", photo, "--out", out, "--force")[0] == 0
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    code, text = run_cli("from-scan", photo, "--out", mine, "--force")
    assert code == 2 and "not a folder from-scan wrote" in text
    assert (mine / "notes.txt").read_text() == "mine"
    header = json.loads((out / "glyphset.json").read_text(encoding="utf-8"))
    assert header["count"] == len(page.boxes)
