"""Setting OCR text from fonts: the fonts' own advances and kerning, real spaces, the
fallback font (never for Hangul), no tofu, heights, and margins that no distortion can
cross."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hangulgan.ocr import setting
from hangulgan.ocr.fonts import FontFace, FontSource
from hangulgan.ocr.setting import Distortion, lay_out, margin_px, render_text
from hangulgan.ocr.text import RealText

import fontfactory

NANUM = Path("/usr/share/fonts/truetype/nanum")
MYEONGJO = NANUM / "NanumMyeongjo.ttf"
PEN = NANUM / "NanumPen.ttf"
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def need(*fonts: Path) -> None:
    for font in fonts:
        if not font.exists():
            pytest.skip(f"{font} not installed (run make fonts)")


@pytest.fixture(scope="module")
def myeongjo() -> FontSource:
    need(MYEONGJO)
    return FontSource("NanumMyeongjo", [FontFace(MYEONGJO)])


def test_glyphs_advance_by_the_fonts_own_advances_and_kerning(myeongjo):
    face = myeongjo.main
    em = 40
    scale = em / face.upem
    plain = [face.hb_font.get_glyph_h_advance(face.ft.get_char_index(ord(c))) for c in "한글AV"]
    # Hangul: each glyph's own advance from hmtx, summed
    assert lay_out(myeongjo, "한글", em).pen == pytest.approx(sum(plain[:2]) * scale)
    # Latin: the font's GPOS kerning pulls A and V together (1364 units, not 1490)
    assert lay_out(myeongjo, "AV", em).pen == pytest.approx(1364 * scale)
    assert sum(plain[2:]) == 1490
    # a space is the font's own space, not a guess
    space = face.hb_font.get_glyph_h_advance(face.ft.get_char_index(32)) * scale
    gap = lay_out(myeongjo, "한 글", em).pen - lay_out(myeongjo, "한글", em).pen
    assert gap == pytest.approx(space)


def test_the_fallback_draws_what_the_design_lacks_but_never_hangul(tmp_path):
    need(PEN, DEJAVU)
    pen, dejavu = FontFace(PEN), FontFace(DEJAVU)
    source = FontSource("pen", [pen], [dejavu])
    alone = FontSource("pen", [pen])
    ruble = "₽"  # NanumPen lacks it, DejaVu Sans draws it
    assert not pen.draws(ord(ruble)) and dejavu.draws(ord(ruble))
    assert not alone.holds(f"100{ruble}") and source.holds(f"100{ruble}")
    assert source.face_of(ruble) == 1 and source.face_of("1") == 0  # the design first
    # Hangul the design lacks is never taken from the fallback, even if it draws it; a
    # mapped glyph without an outline is not drawn (the test font maps 다 to nothing)
    small = FontFace(fontfactory.build_font(tmp_path / "small.ttf"))
    korean_fallback = FontSource("small", [small], [FontFace(MYEONGJO)])
    assert korean_fallback.holds("가나") and small.ft.get_char_index(ord("다"))
    assert not korean_fallback.holds("마") and not korean_fallback.holds("다")
    # no tofu: what no face maps is not drawn
    assert source.face_of("\u0378") == -1 and not source.holds("한글\u0378")  # unassigned
    assert source.face_of("\u200b") == -1  # zero width space: mapped or not, no ink
    image = render_text(source, f"값 100{ruble}", 32, None, np.random.default_rng(0))
    assert image.shape[0] == 32 and (image < 128).any()


@pytest.mark.parametrize("height", [24, 32, 48, 64])
def test_images_are_the_height_asked_for(myeongjo, height):
    rng = np.random.default_rng(height)
    for distortion in (None, Distortion()):
        image = render_text(myeongjo, "값이 1,000원 (괄호) 「글꼴」", height, distortion, rng)
        assert image.shape[0] == height


def ink_at_edges(ink: np.ndarray) -> bool:
    return bool(
        (ink[0] >= setting.INK_FLOOR).any()
        or (ink[-1] >= setting.INK_FLOOR).any()
        or (ink[:, 0] >= setting.INK_FLOOR).any()
        or (ink[:, -1] >= setting.INK_FLOOR).any()
    )


def test_no_distortion_pushes_ink_across_an_edge(myeongjo):
    """3,000 augmented words and lines at heights 24-64: no ink in the outer rows or
    columns (the old tile pipeline put ink in the top or bottom row of 69 % of images and
    cut strokes), and no ink lost on the way: the ink that the distortions leave on their
    canvas is all inside the image."""
    need(PEN)
    sources = [myeongjo, FontSource("pen", [FontFace(PEN)])]
    text = RealText()
    rng = np.random.default_rng(7)
    distortion = Distortion(blur_prob=0.5, bold_prob=0.5)
    cut = 0
    for i in range(3000):
        source = sources[i % 2]
        words = text.word(rng) if i % 3 else text.line(rng)
        if not source.holds(words):
            continue
        height = int(rng.integers(24, 65))
        ink = setting.set_distorted(source, words, height, distortion, rng)
        assert ink.shape[0] == height
        cut += ink_at_edges(ink)
        assert ink.max() > 100  # the text is there
    assert cut == 0


def test_ink_taller_than_the_image_is_scaled_down_not_cut():
    tall = np.zeros((80, 50), dtype=np.float32)
    tall[5:75, 10:40] = 255  # 70 rows of ink for a 32-row image
    window = setting.cut_out(tall, 32, margin_px(32))
    assert window.shape[0] == 32 and not ink_at_edges(window)
    assert (window >= 128).sum(axis=0).max() == 32 - 2 * margin_px(32)


def test_plain_lines_keep_their_margins_at_every_height(myeongjo):
    rng = np.random.default_rng(0)
    text = RealText()
    for height in range(24, 65, 4):
        for _ in range(30):
            line = text.line(rng)
            if myeongjo.holds(line):
                ink = setting.set_plain(myeongjo, line, height)
                assert ink.shape[0] == height and not ink_at_edges(ink)
