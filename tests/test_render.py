"""Rendering asserted exactly on fonts whose glyphs are known rectangles."""

import numpy as np
import pytest

from hangulgan.data.render import FaceRenderer, render_face
from hangulgan.errors import FontError

import fontfactory

CPS = [ord(c) for c in "가나다라한"]


def _ink_box(image, level=128):
    rows = np.flatnonzero(image.max(axis=1) >= level)
    cols = np.flatnonzero(image.max(axis=0) >= level)
    return rows[0], rows[-1], cols[0], cols[-1]


def test_em_placement_puts_the_em_square_on_the_canvas(test_font):
    result = render_face(str(test_font), CPS, size=32, placement="em")
    assert [chr(c) for c in result.codepoints] == ["가", "나", "한"]
    ga = result.images[0]
    # The face's Hangul ink runs from y 0 to 800 units: centred on the 32 px canvas, the
    # baseline lies round(16 + 12.8) = 29 px below the top. 가 is the rectangle x 100..900,
    # y 0..800 of a 1000-unit em, advance 1000 (pen at the left edge): it spans x 3.2..28.8
    # and y (from the top) 3.4..29.
    assert result.geometry.baseline_row == 29 and result.geometry.origin_x(1000) == 0
    assert (ga[4:29, 4:28] == 255).all()
    assert (ga[:3] == 0).all() and (ga[29:] == 0).all()
    assert (ga[:, :3] == 0).all() and (ga[:, 29:] == 0).all()
    # Partly covered edge pixels carry coverage in proportion: 0.8 of column 3, 0.6 of row 3.
    assert abs(int(ga[10, 3]) - 0.8 * 255) <= 3
    assert abs(int(ga[3, 10]) - 0.6 * 255) <= 3


def test_em_placement_scales_with_size(test_font):
    small = render_face(str(test_font), [ord("나")], size=32).images[0]
    large = render_face(str(test_font), [ord("나")], size=64).images[0]
    # 나 spans x 100..900 and y 0..800 units: at 32 px (baseline row 29) rows 3.4..29,
    # columns 3.2..28.8; at 64 px (baseline row round(32 + 25.6) = 58) rows 6.8..58, columns
    # 6.4..57.6 (pixels at least half covered count).
    assert _ink_box(small) == (3, 28, 3, 28)
    assert _ink_box(large) == (7, 57, 6, 57)


def test_em_placement_centres_each_faces_ink_and_records_where(tmp_path):
    # Two faces draw the same shapes, one 200 units lower: the baseline moves 200 units
    # (6.4 px at 32 px) up the canvas, so both images are the same up to rounding to whole
    # pixels, and the geometry says where the baseline is in each.
    high = fontfactory.build_font(tmp_path / "high.ttf")
    shapes = {
        cp: [(x0, y0 - 200, x1, y1 - 200) for x0, y0, x1, y1 in rects]
        for cp, rects in fontfactory.DEFAULT_SHAPES.items()
    }
    low = fontfactory.build_font(tmp_path / "low.ttf", shapes=shapes)
    a, b = render_face(str(high), CPS), render_face(str(low), CPS)
    # ink centres 400 and 200 units (12.8 and 6.4 px) above the baselines
    assert (a.geometry.baseline_row, b.geometry.baseline_row) == (29, 22)
    for image_a, image_b in zip(a.images, b.images, strict=True):
        assert np.abs(np.subtract(_ink_box(image_a), _ink_box(image_b))).max() <= 1


def test_em_placement_centres_each_advance_in_whole_pixels(tmp_path):
    # advance 600 of 1000 at 32 px is 19.2 px: the pen starts round(6.4) = 6 px in
    font = fontfactory.build_font(
        tmp_path / "narrow.ttf", shapes={ord("가"): [(0, 0, 600, 800)]}, advance=600
    )
    result = render_face(str(font), [ord("가")], size=32)
    assert result.advances.tolist() == [600]
    assert result.geometry.advance == 600 and result.geometry.origin_x(600) == 6
    assert _ink_box(result.images[0])[2:] == (6, 24)  # x 0..600 units → px 6..25.2
    meta = result.placement_meta()
    assert meta["placement"] == "em" and meta["geometry"]["advance"] == 600


def test_fit_placement_centres_and_fills_the_box(test_font):
    images = render_face(str(test_font), [ord("한")], size=32, placement="fit").images
    top, bottom, left, right = _ink_box(images[0])
    # 한's ink is 600×600 units: scaled to fill 28 of 32 px (margin 1/16) and centred.
    assert (top, left) == (2, 2) and (bottom, right) == (29, 29)


def test_unmapped_and_empty_glyphs_are_reported_not_drawn(test_font):
    result = render_face(str(test_font), CPS)
    assert result.missing.tolist() == [ord("라")]  # drawn in the font, absent from the cmap
    assert result.empty.tolist() == [ord("다")]  # in the cmap, no outline
    assert len(result.images) == 3
    assert (result.images.reshape(3, -1).max(axis=1) > 0).all()  # no blank stored


def test_rendering_is_deterministic(test_font):
    a = render_face(str(test_font), CPS).images
    b = render_face(str(test_font), CPS).images
    assert np.array_equal(a, b)


def test_not_a_font_raises_font_error(tmp_path):
    fake = tmp_path / "fake.ttf"
    fake.write_text("hello")
    with pytest.raises(FontError, match="fake.ttf"):
        FaceRenderer(str(fake))


def test_placement_and_size_are_checked(test_font):
    with pytest.raises(ValueError):
        FaceRenderer(str(test_font), placement="middle")
    with pytest.raises(ValueError):
        FaceRenderer(str(test_font), size=4)


def test_font_in_a_korean_named_folder(tmp_path):
    folder = tmp_path / "한글 글꼴"
    folder.mkdir()
    path = fontfactory.build_font(folder / "글꼴.ttf")
    assert len(render_face(str(path), CPS).codepoints) == 3


def test_cff_opentype_fonts_render_like_truetype(tmp_path):
    ttf = fontfactory.build_font(tmp_path / "a.ttf")
    otf = fontfactory.build_font(tmp_path / "a.otf", cff=True)
    a, b = render_face(str(ttf), CPS), render_face(str(otf), CPS)
    assert a.codepoints.tolist() == b.codepoints.tolist()
    assert b.empty.tolist() == [ord("다")] and b.missing.tolist() == [ord("라")]
    assert np.abs(a.images.astype(int) - b.images.astype(int)).max() <= 2


def test_glyphs_that_fail_to_load_are_listed_and_the_rest_drawn(tmp_path):
    from hangulgan import hangul

    import fontdamage

    cps = hangul.all_syllables()[:60]
    path = fontfactory.build_font(
        tmp_path / "f.ttf", shapes={cp: [(100, 0, 900, 800)] for cp in cps}
    )
    fontdamage.break_glyphs(path, cps[5:7])
    result = render_face(str(path), cps)
    assert result.failed.tolist() == cps[5:7]
    assert "invalid outline" in result.first_error and "f.ttf" in result.first_error
    assert result.codepoints.tolist() == cps[:5] + cps[7:]
    assert not result.empty.size and (result.images.reshape(58, -1).max(axis=1) == 255).all()


# A garbled hhea: a descender above the baseline, a negative line gap, and a count of long
# horizontal metrics beyond the glyph count, so FreeType reads bearings from the wrong place.
GARBLED_HHEA = [
    ("hhea", 4, ">h", -17834),  # ascender
    ("hhea", 6, ">h", 16876),  # descender
    ("hhea", 8, ">h", -4541),  # line gap
    ("hhea", 34, ">H", 60046),  # numberOfHMetrics
]


def _far_apart(tmp_path, name):
    # glyphs well away from the left edge, so a misread bearing moves their ink
    shapes = {ord("가"): [(300, 0, 900, 800)], ord("나"): [(450, 0, 600, 700)]}
    return fontfactory.build_font(tmp_path / name, shapes=shapes)


def test_a_garbled_hhea_is_mended_renders_as_the_sound_font_and_warns(tmp_path, capfd):
    import fontdamage

    sound = render_face(str(_far_apart(tmp_path, "sound.ttf")), CPS)
    damaged = fontdamage.set_fields(_far_apart(tmp_path, "damaged.ttf"), GARBLED_HHEA)
    result = render_face(str(damaged), CPS)
    assert np.array_equal(result.images, sound.images)
    assert np.array_equal(result.advances, sound.advances)
    # what export will write: the win metrics (as the sound font's hhea), not +16876
    assert result.geometry == sound.geometry
    metrics = result.geometry.metrics
    assert (metrics.hhea_ascender, metrics.hhea_descender, metrics.hhea_line_gap) == (880, -120, 0)
    warnings = [line for line in capfd.readouterr().err.splitlines() if str(damaged) in line]
    assert len(warnings) == 2 and all(line.startswith("warning: ") for line in warnings)
    assert "numberOfHMetrics 60046 mended to" in warnings[0]
    assert "descender 16876" in warnings[1]
    assert "replaced by the win ones (880, -120)" in warnings[1]


def test_a_count_of_metrics_no_table_can_tell_makes_the_face_damaged(tmp_path):
    import fontdamage

    damaged = fontdamage.set_fields(_far_apart(tmp_path, "d.ttf"), [("hhea", 34, ">H", 60046)])
    fontdamage.shorten_table(damaged, "hmtx", 3)
    with pytest.raises(FontError, match="d.ttf: damaged: hhea numberOfHMetrics 60046 does not"):
        render_face(str(damaged), CPS)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ([("hhea", 4, ">h", 700), ("hhea", 6, ">h", 10)], "replaced by the win ones"),
        ([("OS/2", 68, ">h", 32767)], "typo metrics (ascender 32767"),  # a line of 33 em
        # all three implausible: the glyphs' own bounds (y 0..800)
        (
            [("hhea", 4, ">h", -5), ("OS/2", 70, ">h", 900), ("OS/2", 74, ">H", 0)],
            "replaced by the glyphs' bounds (800, 0)",
        ),
    ],
)
def test_implausible_vertical_metrics_fall_back_and_warn(tmp_path, capfd, fields, expected):
    import fontdamage

    damaged = fontdamage.set_fields(_far_apart(tmp_path, "v.ttf"), fields)
    metrics = render_face(str(damaged), CPS).geometry.metrics
    for asc, desc in [
        (metrics.hhea_ascender, metrics.hhea_descender),
        (metrics.typo_ascender, metrics.typo_descender),
        (metrics.win_ascent, -metrics.win_descent),
    ]:
        assert 0 < asc <= 1000 and -200 <= desc <= 0
    assert expected in capfd.readouterr().err


def test_sound_metrics_pass_unchanged_and_silent(tmp_path, capfd):
    result = render_face(str(_far_apart(tmp_path, "s.ttf")), CPS)
    metrics = result.geometry.metrics
    assert (metrics.hhea_ascender, metrics.typo_descender, metrics.win_descent) == (880, -120, 120)
    assert capfd.readouterr().err == ""
