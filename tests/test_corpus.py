"""Corpus writing (atomic, resumable), reading, the torch Dataset, preview and merge."""

import json

import numpy as np
import pytest

from hangulgan import hangul
from hangulgan.data import corpus as corpus_mod
from hangulgan.data.corpus import (
    Corpus,
    RenderSettings,
    merge_corpora,
    open_glyphset,
    preview_sheet,
    render_corpus,
)
from hangulgan.data.dataset import GlyphDataset
from hangulgan.data.glyphset import GlyphSet
from hangulgan.errors import CorpusError, GlyphSetError

import fontfactory

CHARS = [ord(c) for c in "가나다라한"]


def _settings(**kw):
    return RenderSettings(charset_name="test", charset=CHARS, **kw)


@pytest.fixture
def fonts(tmp_path):
    folder = tmp_path / "fonts"
    folder.mkdir()
    fontfactory.build_font(folder / "one.ttf", family="One")
    fontfactory.build_font(
        folder / "two.ttf",
        family="Two",
        shapes={ord("가"): [(0, 0, 500, 500)], ord("힣"): [(100, 100, 200, 900)]},
    )
    return folder


def test_render_writes_whole_faces_and_a_manifest(fonts, tmp_path):
    out = tmp_path / "corpus"
    summary = render_corpus([fonts], out, _settings(), progress=False)
    assert sorted(o.face_id for o in summary.rendered) == ["One-Regular", "Two-Regular"]
    corpus = Corpus.open(out)
    assert corpus.size == (32, 32) and corpus.placement == "em"
    one = corpus.face("One-Regular")
    assert one.text == "가나한"
    record = corpus.face_record("One-Regular")
    assert record["glyphs"] == 3 and record["missing"] == 1 and record["empty"] == ["U+B2E4"]
    assert record["file_name"] == "one.ttf" and record["face_index"] == 0
    # A face re-read equals what rendering produced.
    from hangulgan.data.render import render_face

    direct = render_face(str(fonts / "one.ttf"), CHARS)
    assert np.array_equal(np.asarray(one.images), direct.images)


def test_rerun_skips_done_faces_and_force_redoes_them(fonts, tmp_path):
    out = tmp_path / "corpus"
    render_corpus([fonts], out, _settings(), progress=False)
    again = render_corpus([fonts], out, _settings(), progress=False)
    assert not again.rendered and sorted(again.reused) == ["One-Regular", "Two-Regular"]
    forced = render_corpus([fonts], out, _settings(), force=True, progress=False)
    assert len(forced.rendered) == 2


def test_interrupted_render_leaves_only_whole_faces_and_resumes(fonts, tmp_path, monkeypatch):
    out = tmp_path / "corpus"
    real = corpus_mod.render_one_face
    calls = []

    def crash_on_second(info, settings, out_dir, progress=None):
        calls.append(info.face_id)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(info, settings, out_dir, progress)

    monkeypatch.setattr(corpus_mod, "render_one_face", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        render_corpus([fonts], out, _settings(), progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest["faces"]) == [calls[0]]
    # Only whole faces on disk: no temporary or half-written folder is left behind.
    assert [p.name for p in (out / "faces").iterdir()] == [calls[0]]
    monkeypatch.setattr(corpus_mod, "render_one_face", real)
    resumed = render_corpus([fonts], out, _settings(), progress=False)
    assert resumed.reused == [calls[0]] and len(resumed.rendered) == 1


def test_parallel_render_matches_serial(fonts, tmp_path):
    serial = tmp_path / "serial"
    parallel = tmp_path / "parallel"
    render_corpus([fonts], serial, _settings(augment_copies=1), progress=False)
    render_corpus([fonts], parallel, _settings(augment_copies=1), workers=2, progress=False)
    for name in Corpus.open(serial).face_names:
        a, b = Corpus.open(serial).face(name), Corpus.open(parallel).face(name)
        assert np.array_equal(a.images, b.images)
        assert np.array_equal(a.augmented, b.augmented)  # seeded per face, not per worker


def test_augmented_copies_and_parameters_are_stored(fonts, tmp_path):
    out = tmp_path / "corpus"
    render_corpus([fonts], out, _settings(augment_copies=3, seed=5), progress=False)
    face = Corpus.open(out).face("One-Regular")
    assert face.augmented.shape == (3, 3, 32, 32)
    assert face.augment_params.shape == (3, 3, len(face.augment_param_names))
    manifest = Corpus.open(out).manifest
    assert manifest["augment"]["copies"] == 3 and manifest["augment"]["seed"] == 5


def test_settings_mismatch_and_bad_folders_are_clear_errors(fonts, tmp_path):
    out = tmp_path / "corpus"
    render_corpus([fonts], out, _settings(), progress=False)
    with pytest.raises(CorpusError, match="size"):
        render_corpus([fonts], out, _settings(size=64), progress=False)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(CorpusError, match="is a file"):
        render_corpus([fonts], a_file, _settings(), progress=False)
    with pytest.raises(CorpusError, match="no such corpus"):
        Corpus.open(tmp_path / "nowhere")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["version"] = 0
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CorpusError, match="version 0"):
        Corpus.open(out)


def test_dataset_labels_and_batches(fonts, tmp_path):
    out = tmp_path / "corpus"
    render_corpus([fonts], out, _settings(augment_copies=2), progress=False)
    dataset = GlyphDataset(out)
    assert len(dataset) == 3 + 1 and dataset.num_faces == 2  # Two draws only 가 of CHARS
    batch = dataset.get_batch(np.arange(len(dataset)))
    assert batch["image"].shape == (4, 1, 32, 32)
    assert batch["image"].min() >= -1 and batch["image"].max() <= 1
    for i in range(len(dataset)):
        cp = hangul.FIRST + int(batch["syllable"][i])
        assert tuple(batch["jamo"][i].tolist()) == hangul.decompose(cp)
        face = Corpus.open(out).face(dataset.face_names[int(batch["face"][i])])
        expected = face.image(cp).astype(np.float32) / 127.5 - 1
        assert np.allclose(batch["image"][i, 0].numpy(), expected)
    item = dataset[3]
    assert item["image"].shape == (1, 32, 32)
    augmented = GlyphDataset(out, augmented=True)
    assert len(augmented) == 3 * len(dataset)
    only_ga = GlyphDataset(out, charset=[ord("가")], faces=["Two-Regular"])
    assert len(only_ga) == 1 and int(only_ga.get_batch([0])["syllable"][0]) == 0
    with pytest.raises(CorpusError, match="select no glyph"):
        GlyphDataset(out, charset=[ord("똠")])


def test_open_glyphset_accepts_corpus_faces(fonts, tmp_path):
    out = tmp_path / "corpus"
    render_corpus([fonts], out, _settings(), progress=False)
    face = open_glyphset(f"{out}::Two-Regular")
    assert face.text == "가힣"[:1]  # 힣 is outside this corpus's charset
    with pytest.raises(GlyphSetError, match="is a corpus"):
        open_glyphset(out)
    with pytest.raises(CorpusError, match="no face named"):
        open_glyphset(f"{out}::Nope")


def test_glyphset_rejects_truncated_arrays(tmp_path):
    glyphs = GlyphSet(np.full((2, 8, 8), 255, np.uint8), [ord("가"), ord("나")])
    glyphs.save(tmp_path / "g")
    data = (tmp_path / "g" / "images.npy").read_bytes()
    (tmp_path / "g" / "images.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(GlyphSetError, match="images.npy"):
        GlyphSet.load(tmp_path / "g")


def test_preview_sheet(fonts, tmp_path):
    out = tmp_path / "corpus"
    render_corpus([fonts], out, _settings(), progress=False)
    from PIL import Image

    path = preview_sheet(Corpus.open(out).face("One-Regular"), tmp_path / "p.png", scale=1)
    image = Image.open(path)
    assert image.size == (3 * 34 + 2, 34 + 2)
    assert np.asarray(image).min() == 0  # ink is dark on white


def test_shards_merge_into_the_full_corpus(fonts, tmp_path):
    full = tmp_path / "full"
    render_corpus([fonts], full, _settings(), progress=False)
    parts = []
    for i in range(2):
        part = tmp_path / f"part{i}"
        summary = render_corpus([fonts], part, _settings(), shard=(i, 2), progress=False)
        assert len(summary.rendered) == 1 and summary.other_shard == 1
        parts.append(part)
    merged = tmp_path / "merged"
    assert sorted(merge_corpora(parts, merged)) == sorted(Corpus.open(full).face_names)
    for name in Corpus.open(full).face_names:
        assert np.array_equal(
            Corpus.open(full).face(name).images, Corpus.open(merged).face(name).images
        )
    other = tmp_path / "other"
    render_corpus([fonts], other, _settings(size=16), progress=False)
    with pytest.raises(CorpusError, match="size differs"):
        merge_corpora([full, other], tmp_path / "bad")


def test_compare_sheet_has_a_row_per_face(fonts, tmp_path):
    from PIL import Image

    from hangulgan.data.corpus import compare_sheet

    out = tmp_path / "corpus"
    render_corpus([fonts], out, _settings(), progress=False)
    path = compare_sheet(Corpus.open(out), "가나한", tmp_path / "c.png", scale=1)
    pixels = np.asarray(Image.open(path))
    assert pixels.shape == (2 * 34 + 2, 3 * 34 + 2)
    # Two draws only 가: its 나 and 한 cells stay white.
    assert (pixels[36:68, 36:] == 255).all() and pixels[36:68, 2:34].min() == 0
    with pytest.raises(CorpusError, match="no Hangul"):
        compare_sheet(Corpus.open(out), "abc", tmp_path / "d.png")
