"""Font discovery, face identity, coverage and de-duplication."""

import numpy as np

from hangulgan import hangul
from hangulgan.data.fonts import collect_faces, discover_font_files, slug

import fontfactory


def test_coverage_comes_from_the_cmap(test_font):
    faces, skipped = collect_faces([test_font])
    assert not skipped
    (face,) = faces
    # 다 is mapped (even though empty); 라 is drawn but unmapped.
    assert sorted(chr(c) for c in face.covered) == sorted("가나다한")
    assert face.family == "Test Hangul" and face.style == "Regular"
    assert len(face.file_sha256) == 64


def test_ttc_faces_are_all_found_and_identical_drawings_stored_once(tmp_path):
    a = fontfactory.build_font(tmp_path / "a.ttf", family="Alpha")
    b = fontfactory.build_font(tmp_path / "b.ttf", family="Alpha KR")
    c = fontfactory.build_font(
        tmp_path / "c.ttf", family="Gamma", shapes={ord("가"): [(0, 0, 500, 500)]}
    )
    ttc = fontfactory.build_collection(tmp_path / "set.ttc", [a, b, c])
    faces, skipped = collect_faces([ttc])
    # a and b draw the same Hangul: one face is kept (the Korean-named one), one listed.
    assert sorted(f.family for f in faces) == ["Alpha KR", "Gamma"]
    assert [f.index for f in faces if f.family == "Gamma"] == [2]
    assert len(skipped) == 1 and "same Hangul drawings" in skipped[0].reason
    assert skipped[0].duplicate
    assert str(skipped[0].path).endswith("set.ttc#0")


def test_face_ids_are_unique_and_safe(tmp_path):
    a = fontfactory.build_font(tmp_path / "a.ttf", family="같은 이름")
    b = fontfactory.build_font(
        tmp_path / "b.ttf", family="같은 이름", shapes={ord("가"): [(0, 0, 300, 300)]}
    )
    faces, _ = collect_faces([a, b])
    ids = [f.face_id for f in faces]
    assert len(set(ids)) == 2
    assert all(slug(i) == i for i in ids)


def test_bad_inputs_are_skipped_with_reasons(tmp_path, test_font):
    (tmp_path / "empty").mkdir()
    not_font = tmp_path / "notes.ttf"
    not_font.write_text("this is not a font")
    truncated = tmp_path / "truncated.ttf"
    truncated.write_bytes(test_font.read_bytes()[:200])
    latin = fontfactory.build_font(
        tmp_path / "latin.ttf", shapes={}, empty_mapped=False, unmapped=False
    )
    faces, skipped = collect_faces(
        [tmp_path / "empty", not_font, truncated, latin, tmp_path / "absent.ttf", test_font]
    )
    assert [f.path for f in faces] == [test_font.resolve()]
    reasons = {s.path.name: s.reason for s in skipped}
    assert "no .ttf" in reasons["empty"]
    assert "not a font" in reasons["notes.ttf"]
    assert "truncated.ttf" in reasons
    assert "no Hangul" in reasons["latin.ttf"]
    assert "no such file" in reasons["absent.ttf"]


def test_discovery_recurses_and_ignores_other_files(tmp_path):
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    fontfactory.build_font(sub / "deep.TTF")
    (tmp_path / "readme.txt").write_text("x")
    files, skipped = discover_font_files([tmp_path])
    assert [f.name for f in files] == ["deep.TTF"] and not skipped


def test_charset_limits_coverage(test_font):
    faces, _ = collect_faces([test_font], charset=[ord("가"), ord("힣")])
    assert faces[0].covered.tolist() == [ord("가")]
    assert np.isin(faces[0].covered, hangul.all_syllables()).all()


def test_variable_font_default_instance_and_named_instances(tmp_path):
    from hangulgan.data.render import render_face

    path = fontfactory.build_variable_font(tmp_path / "var.ttf")
    default_only, _ = collect_faces([path])
    assert [f.index for f in default_only] == [0]
    # the default instance draws the rectangle at x 100..900 → columns 3.2..28.8 at 32 px
    default = render_face(str(path), [ord("가")], face_index=0).images[0]
    assert (default[10, 4:28] == 255).all() and default[10, 2] == 0
    faces, _ = collect_faces([path], instances=True)
    by_style = {f.style: f.index for f in faces}
    assert {"Thin", "Black"} <= set(by_style)
    black = render_face(str(path), [ord("가")], face_index=by_style["Black"]).images[0]
    thin = render_face(str(path), [ord("가")], face_index=by_style["Thin"]).images[0]
    assert (black > 127).sum() > (default > 127).sum() > (thin > 127).sum()


def _many(path, cps, **kw):
    return fontfactory.build_font(path, shapes={cp: [(100, 0, 900, 800)] for cp in cps}, **kw)


def test_a_damaged_sample_glyph_is_inspected_not_raised(tmp_path):
    import fontdamage

    cps = [ord(c) for c in "가나다라마바사각간갇"]
    path = _many(tmp_path / "f.ttf", cps, empty_mapped=False, unmapped=False)
    fontdamage.break_glyphs(path, [ord("가")])  # a sample of the drawing signature
    faces, skipped = collect_faces([path], charset=cps)
    assert [f.path.name for f in faces] == ["f.ttf"] and not skipped
    assert faces[0].covered.tolist() == cps


def test_of_two_copies_the_sound_one_is_kept_whatever_its_path(tmp_path):
    import fontdamage

    cps = hangul.all_syllables()[:80]
    broken = _many(tmp_path / "a-first.ttf", cps, family="Same")
    sound = _many(tmp_path / "b-second.ttf", cps, family="Same")
    # Damage glyphs away from the signature's samples: both files sign alike.
    fontdamage.break_glyphs(broken, cps[40:44])
    faces, skipped = collect_faces([broken, sound], charset=cps)
    assert [f.path.name for f in faces] == ["b-second.ttf"]
    assert [s.path.name for s in skipped] == ["a-first.ttf"] and skipped[0].duplicate
    # The damaged copy stays at hand, should the kept one fail when rendered.
    assert [a.path.name for a in faces[0].alternates] == ["a-first.ttf"]


def test_a_web_font_split_over_files_is_weighed_by_its_parts(tmp_path):
    from fontTools import subset

    import fontdamage

    cps = hangul.all_syllables()[:40] + [ord(c) for c in "나다라"]
    (tmp_path / "whole").mkdir()
    plain = {"family": "Same", "unmapped": False, "empty_mapped": False}
    damaged = _many(tmp_path / "whole" / "A.ttf", cps, **plain)
    sound = _many(tmp_path / "B.ttf", cps, **plain)
    fontdamage.break_glyphs(damaged, cps[10:14])
    web = tmp_path / "web"
    web.mkdir()
    for number, part in enumerate((cps[:20], cps[20:])):
        options = subset.Options()
        options.flavor, options.name_IDs, options.notdef_outline = "woff", ["*"], True
        font = subset.load_font(str(sound), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=part)
        subsetter.subset(font)
        subset.save_font(font, str(web / f"same-{number}.woff"), options)
    faces, skipped = collect_faces([tmp_path / "whole", web], charset=cps)
    assert [f.path for f in faces] == [web.resolve()]  # the split face, whole and sound
    assert [s.path.name for s in skipped] == ["A.ttf"] and skipped[0].duplicate
