"""Integration: real Debian fonts (installed by `make test`)."""

import numpy as np
import pytest

from hangulgan.data.corpus import Corpus
from hangulgan.data.corpus_manifest import RenderSettings
from hangulgan.data.corpus_render import render_corpus
from hangulgan.data.fonts import collect_faces

from conftest import NANUM, NOTO, debian_font

pytestmark = pytest.mark.slow


def test_full_and_partial_coverage_fonts(tmp_path):
    fonts = [
        debian_font(NANUM / "NanumGothic.ttf"),
        debian_font(NANUM / "NanumGothicLight.ttf"),
        debian_font(NANUM / "NanumSquare_acR.ttf"),
    ]
    out = tmp_path / "corpus"
    summary = render_corpus(fonts, out, RenderSettings(), workers=2, progress=False)
    assert not summary.skipped
    corpus = Corpus.open(out)
    counts = {name: len(corpus.face(name)) for name in corpus.face_names}
    assert counts == {"NanumGothic": 11_172, "NanumGothicLight": 2_350, "NanumSquare_acR": 2_479}
    for name in corpus.face_names:
        face = corpus.face(name)
        # no stored glyph is blank, none is a .notdef box
        assert (np.asarray(face.images).reshape(len(face), -1).max(axis=1) > 0).all()
        re_read = Corpus.open(out).face(name, mmap=False)
        assert np.array_equal(re_read.images, face.images)
    light = corpus.face("NanumGothicLight")
    from hangulgan import hangul

    assert set(light.codepoints.tolist()) == set(hangul.ksx1001_syllables())


def test_noto_collection_faces_collapse_to_one(tmp_path):
    ttc = debian_font(NOTO / "NotoSansCJK-Regular.ttc")
    faces, skipped = collect_faces([ttc])
    assert len(faces) == 1 and "KR" in faces[0].family
    assert len(skipped) == faces[0].num_faces - 1
    assert all("same Hangul drawings" in s.reason for s in skipped)


BAEKMUK = NANUM.parent / "baekmuk"


def test_fonts_that_map_every_syllable_but_draw_ksx1001_are_kept_not_damaged(tmp_path):
    from hangulgan import hangul

    fonts = [
        debian_font(BAEKMUK / "dotum.ttf"),  # maps 11,172, draws 2,350
        debian_font(NANUM / "NanumSquareR.ttf"),  # maps 11,172, draws 2,479
    ]
    out = tmp_path / "corpus"
    summary = render_corpus(fonts, out, RenderSettings(), workers=1, progress=False)
    assert not summary.skipped, summary.skipped
    corpus = Corpus.open(out)
    records = {name: corpus.face_record(name) for name in corpus.face_names}
    assert {name: rec["glyphs"] for name, rec in records.items()} == {
        "Baekmuk-Dotum": 2_350,
        "NanumSquareR": 2_479,
    }
    assert {name: len(rec["empty"]) for name, rec in records.items()} == {
        "Baekmuk-Dotum": 8_822,
        "NanumSquareR": 8_693,
    }
    drawn = set(corpus.face("NanumSquareR").codepoints.tolist())
    assert set(hangul.ksx1001_syllables()) <= drawn


def test_nanumgothic_with_a_garbled_hhea_renders_as_the_sound_one(tmp_path):
    """The fault run's case: NanumGothic with its hhea table overwritten by random bytes
    rendered a third of its glyphs off by a pixel or more, and recorded a descender above
    the baseline for export. Now each renders bit-identically to the sound font, with the
    sound font's geometry."""
    from hangulgan import hangul
    from hangulgan.data.render import FaceRenderer

    import fontdamage

    source = debian_font(NANUM / "NanumGothic.ttf")
    syllables = hangul.all_syllables()
    sound = FaceRenderer(str(source)).render(syllables)
    for seed in range(3):
        garbled = dict(fontdamage.damaged_variants(source.read_bytes(), seed))["garble-hhea"]
        path = tmp_path / f"garbled{seed}.ttf"
        path.write_bytes(garbled)
        result = FaceRenderer(str(path)).render(syllables)
        assert np.array_equal(result.images, sound.images), seed
        assert np.array_equal(result.advances, sound.advances), seed
        assert result.geometry == sound.geometry, seed
