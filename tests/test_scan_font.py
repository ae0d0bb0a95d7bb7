"""from-scan --font: the written syllables kept as written, the rest drawn in their style,
exported with a fallback font for Latin and checked; adaptation to the written syllables."""

from __future__ import annotations

import numpy as np
import pytest

from hangulgan.data.glyphset import GlyphSet
from hangulgan.errors import ConfigError
from hangulgan.scan.font import handwriting_font, keep_written
from hangulgan.scan.layout import make_sheet
from hangulgan.scan.synthetic import fill_page, photograph

from conftest import NANUM, debian_font, run_cli


def test_keep_written_replaces_the_drawn_glyphs_and_keeps_the_rest():
    drawn = GlyphSet(
        np.full((3, 4, 4), 10, np.uint8), np.array([0xAC00, 0xAC01, 0xAC02]), "face", {"x": 1}
    )
    written = GlyphSet(np.full((2, 4, 4), 200, np.uint8), np.array([0xAC01, 0xB2E4]), "hand")
    kept = keep_written(drawn, written)
    assert kept.text == "가각갂다"
    assert [int(image[0, 0]) for image in kept.images] == [10, 200, 10, 200]
    assert kept.meta == {"x": 1, "written": "각다"}
    with pytest.raises(ConfigError, match="5×5 glyphs, the generator draws 4×4"):
        keep_written(drawn, GlyphSet(np.zeros((1, 5, 5), np.uint8), np.array([0xAC00])))


def test_adaptation_refuses_writing_it_cannot_learn_from(tmp_path):
    from hangulgan.scan.font import generator_placement

    placement = generator_placement()
    written = GlyphSet(
        np.zeros((2, 32, 32), np.uint8), np.array([0xB2E4, 0xD5CC]), "hand", dict(placement)
    )
    written.images[:, 8:24, 14:18] = 255  # 다 and 헌 written as the same bar
    with pytest.raises(ConfigError, match="hand: all 2 references are the same image"):
        handwriting_font(written, tmp_path / "Hand.ttf", adapt_steps=50)
    assert not (tmp_path / "Hand.ttf").exists()


@pytest.mark.slow
def test_a_photographed_sheet_becomes_a_checked_font(tmp_path):
    from fontTools.ttLib import TTFont

    from hangulgan.data.placement import Geometry
    from hangulgan.scan.font import generator_placement
    from hangulgan.scan.template import draw_pdf, rasterise

    pen = debian_font(NANUM / "NanumPen.ttf")
    fallback = debian_font(NANUM / "NanumGothic.ttf")
    geometry = Geometry.from_meta(generator_placement()["geometry"])
    sheet = make_sheet("다헌쳇입술특꽃봤뺨쥐규례")
    draw_pdf(sheet, tmp_path / "sheet.pdf")
    rng = np.random.default_rng(0)
    written, _ = fill_page(
        rasterise(tmp_path / "sheet.pdf", 150)[0], sheet.pages[0], pen, geometry, rng
    )
    photo = tmp_path / "page.jpg"
    photo.write_bytes(photograph(written, rng, turn=180, dpi=150))
    font = tmp_path / "Hand.ttf"
    code, text = run_cli(
        "from-scan",
        photo,
        "--out",
        tmp_path / "Hand",
        "--font",
        font,
        "--charset",
        "seed16",
        "--fallback-font",
        fallback,
        "--adapt-steps",
        "10",
    )
    assert code == 0, text
    assert "adapting to the 12 written syllables" in text
    assert "12 syllables as written" in text
    with TTFont(font) as built:
        cmap = built.getBestCmap()
        assert built["name"].getDebugName(1) == "My Hand"
    wanted = set(sheet.pages[0].syllables) | set("가나다라마바아사자차타파하전미정")
    assert {chr(cp) for cp in cmap if 0xAC00 <= cp <= 0xD7A3} == wanted
    assert ord("A") in cmap and ord(",") in cmap  # borrowed from the fallback font
    assert (tmp_path / "Hand.specimen.png").is_file()
    # --force replaces only a font export-ttf made
    mine = tmp_path / "Mine.ttf"
    mine.write_bytes(b"not a font")
    code, text = run_cli(
        "from-scan",
        photo,
        "--out",
        tmp_path / "Hand",
        "--force",
        "--font",
        mine,
        "--charset",
        "seed16",
    )
    assert code == 2 and "Mine.ttf" in text and mine.read_bytes() == b"not a font"
