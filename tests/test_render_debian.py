"""Integration: real Debian fonts (installed by `make test`)."""

import numpy as np
import pytest

from hangulgan.data.corpus import Corpus, RenderSettings, render_corpus
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
