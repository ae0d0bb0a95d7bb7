"""Glyph classifiers: trained by the shared trainer, exported, loaded; bad checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from hangulgan.data.corpus import Corpus
from hangulgan.errors import CheckpointError, ConfigError, CorpusError
from hangulgan.eval import metrics
from hangulgan.eval.classifier import load_classifier
from hangulgan.eval.classifier_config import ClassifierDataConfig
from hangulgan.eval.classifier_model import GlyphClassifier, make_split
from hangulgan.train.registry import MODELS

from conftest import NANUM, debian_font, run_cli


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory) -> Path:
    """Three Debian faces, the seeds' 16 syllables plus a few, at 32×32."""
    fonts = tmp_path_factory.mktemp("fonts")
    for name in ("NanumGothic.ttf", "NanumMyeongjo.ttf", "NanumPen.ttf"):
        (fonts / name).symlink_to(debian_font(NANUM / name))
    folder = tmp_path_factory.mktemp("corpus") / "c"
    text = fonts / "charset.txt"
    text.write_text("가나다라마바아사자차타파하전미정한글꼴각난닫", encoding="utf-8")
    code, out = run_cli("render", fonts, folder, "--charset", text, "--quiet", "--workers", "1")
    assert code == 0, out
    return folder


FAST = ("--batch", "16", "--no-progress", "--log-every", "1", "--sample-every", "0")
FAST += ("--grid", "4", "--threads", "1")


def test_classifier_is_a_registered_model():
    assert MODELS["classifier"] is GlyphClassifier


def test_content_classifier_trains_exports_and_loads(tmp_path, small_corpus):
    run = tmp_path / "runs" / "content"
    code, out = run_cli(
        "train", "classifier", "--corpus", small_corpus, "--holdout-faces", "NanumPen",
        "--steps", "3", "--run", run, *FAST,
    )  # fmt: skip
    assert code == 0, out
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == "classifier"
    assert config["data_info"]["face_names"] == ["NanumGothic", "NanumMyeongjo"]
    code, out = run_cli("classifier-export", run, "--out", tmp_path / "cls" / "content")
    assert code == 0, out
    assert "held-out faces accuracy" in out and "NanumPen" in out
    meta = json.loads((tmp_path / "cls" / "content.json").read_text())
    assert meta["task"] == "content"
    assert meta["faces"] == ["NanumGothic", "NanumMyeongjo"]
    assert meta["holdout_faces"] == ["NanumPen"]
    assert len(meta["syllables"]) == 22
    assert meta["heldout"]["held_out"] == "faces"
    assert meta["heldout"]["glyphs"] == 22
    assert 0 <= meta["heldout"]["content_accuracy"] <= 1
    assert set(meta["temperatures"]) == {"initial", "medial", "final"}
    assert all(value > 0 for value in meta["temperatures"].values())
    assert (tmp_path / "cls" / "content.safetensors").is_file()
    classifier = load_classifier(tmp_path / "cls" / "content")
    glyphs = Corpus.open(small_corpus).face("NanumPen")
    read = classifier.read(np.asarray(glyphs.images))
    assert read["jamo"].shape == (22, 3)
    assert ((read["confidence"] > 0) & (read["confidence"] <= 1)).all()
    features = classifier.features(np.asarray(glyphs.images))
    assert features.shape == (22, 256)
    # The exported weights are the run's: the accuracy JSON reports is what they score.
    score = metrics.content_accuracy(classifier, np.asarray(glyphs.images), glyphs.codepoints)
    assert score["content_accuracy"] == pytest.approx(meta["heldout"]["content_accuracy"])


def test_style_classifier_holds_out_syllables(tmp_path, small_corpus):
    run = tmp_path / "style"
    code, out = run_cli(
        "train", "classifier", "--task", "style", "--corpus", small_corpus,
        "--holdout-fraction", "0.5", "--steps", "2", "--run", run, *FAST,
    )  # fmt: skip
    assert code == 0, out
    code, out = run_cli("classifier-export", run, "--out", tmp_path / "style")
    assert code == 0, out
    meta = json.loads((tmp_path / "style.json").read_text())
    assert meta["task"] == "style" and meta["heads"] == {"face": 3}
    assert set(meta["temperatures"]) == {"face"}
    assert meta["heldout"]["held_out"] == "syllables"
    held = set(meta["holdout_syllables"])
    assert held and not held & set(meta["syllables"])
    classifier = load_classifier(tmp_path / "style.json")
    glyphs = Corpus.open(small_corpus).face("NanumGothic")
    value = metrics.style_accuracy(classifier, np.asarray(glyphs.images), "NanumGothic")
    assert 0 <= value <= 1
    with pytest.raises(ConfigError, match="not trained on face 'UnDotum'"):
        metrics.style_accuracy(classifier, np.asarray(glyphs.images), "UnDotum")


def test_split_rejects_unknown_and_all_held_out_faces():
    names = ["A", "B"]
    with pytest.raises(CorpusError, match="held-out face.*C"):
        make_split(ClassifierDataConfig(corpus="c", holdout_faces=["C"]), names, "c")
    with pytest.raises(CorpusError, match="every chosen face is held out"):
        make_split(ClassifierDataConfig(corpus="c", holdout_faces=["A,B"]), names, "c")
    split = make_split(ClassifierDataConfig(corpus="c", holdout_fraction=0.1), names, "c")
    assert split.holdout_syllables.size == 1117


def test_batches_are_augmented_reproducibly(small_corpus):
    dataset = GlyphClassifier.make_dataset(
        ClassifierDataConfig(corpus=str(small_corpus), augment_share=1.0)
    )
    indices = np.arange(8)
    first = dataset.get_batch(indices, seed=5)
    again = dataset.get_batch(indices, seed=5)
    clean = dataset.glyphs.get_batch(indices)
    assert torch.equal(first["image"], again["image"])
    assert not torch.equal(first["image"], clean["image"])
    assert torch.equal(first["jamo"], clean["jamo"])


def _export_tiny(tmp_path: Path, small_corpus: Path) -> Path:
    run = tmp_path / "tiny"
    code, out = run_cli(
        "train", "classifier", "--corpus", small_corpus, "--holdout-faces", "NanumPen",
        "--steps", "1", "--run", run, *FAST,
    )  # fmt: skip
    assert code == 0, out
    code, out = run_cli("classifier-export", run, "--out", tmp_path / "tiny-cls")
    assert code == 0, out
    return tmp_path / "tiny-cls"


def test_classifier_files_of_another_size_or_charset_are_refused(tmp_path, small_corpus):
    path = _export_tiny(tmp_path, small_corpus)
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text())

    # Another image size: it loads, but refuses glyphs of the wrong size by name.
    meta_path.write_text(json.dumps(meta | {"height": 64, "width": 64}))
    classifier = load_classifier(path)
    with pytest.raises(CheckpointError, match="reads 64×64 glyphs, given 32×32"):
        classifier.read(np.zeros((2, 32, 32), np.uint8))

    # A style classifier whose face list does not match its head.
    meta_path.write_text(
        json.dumps(meta | {"task": "style", "heads": {"face": 5}, "faces": ["A", "B"]})
    )
    with pytest.raises(CheckpointError, match="style head of 5 faces but 2 faces listed"):
        load_classifier(path)

    # Heads of another size than the weights hold.
    meta_path.write_text(
        json.dumps(meta | {"task": "style", "heads": {"face": 7}, "faces": list("ABCDEFG")})
    )
    with pytest.raises(CheckpointError, match="weights do not fit"):
        load_classifier(path)

    meta_path.write_text(json.dumps(meta | {"version": 99}))
    with pytest.raises(CheckpointError, match="classifier version 99"):
        load_classifier(path)
    meta_path.unlink()
    with pytest.raises(CheckpointError, match="no such classifier file"):
        load_classifier(path)


def test_export_refuses_other_runs(tmp_path, small_corpus):
    run = tmp_path / "dcgan"
    code, out = run_cli(
        "train", "dcgan", "--corpus", small_corpus, "--steps", "1", "--run", run, *FAST
    )
    assert code == 0, out
    code, out = run_cli("classifier-export", run, "--out", tmp_path / "x")
    assert code == 2 and "not a classifier" in out, out
    assert not (tmp_path / "x.json").exists()


def test_the_shipped_content_classifier():
    from hangulgan.eval.classifier import load_default_content_classifier
    from hangulgan.eval.classifier_config import DEFAULT_HOLDOUT_FACES

    classifier = load_default_content_classifier()
    assert classifier.task == "content" and classifier.size == (32, 32)
    held = classifier.meta["heldout"]
    assert held["held_out"] == "faces" and held["content_accuracy"] >= 0.99
    assert set(classifier.meta["holdout_faces"]) == set(DEFAULT_HOLDOUT_FACES)
    assert not set(classifier.meta["faces"]) & set(DEFAULT_HOLDOUT_FACES)
    assert classifier.path is not None and classifier.path.stat().st_size < 4_000_000


@pytest.mark.slow
def test_the_shipped_classifier_reads_a_face_it_never_saw():
    from hangulgan import hangul
    from hangulgan.data.render import render_face
    from hangulgan.eval.classifier import load_default_content_classifier

    font = debian_font(Path("/usr/share/fonts/truetype/unfonts-core/UnDotum.ttf"))
    drawn = render_face(str(font), hangul.all_syllables(), size=32)
    classifier = load_default_content_classifier()
    score = metrics.content_accuracy(classifier, drawn.images, drawn.codepoints)
    assert score["content_accuracy"] >= 0.99


def test_the_32px_classifier_reads_64px_glyphs_scaled_down_and_refuses_the_rest():
    """Regression: `evaluate` of a 64×64 styled run stopped with "reads 32×32 glyphs, given
    64×64". Larger glyphs of the same aspect are now scaled down to the classifier's size;
    smaller ones and another aspect are still refused."""
    from hangulgan import hangul
    from hangulgan.data.render import render_face
    from hangulgan.eval.classifier import load_default_content_classifier

    font = debian_font(Path("/usr/share/fonts/truetype/unfonts-core/UnDotum.ttf"))
    syllables = hangul.ksx1001_syllables()[::5]
    drawn = render_face(str(font), syllables, size=64)
    classifier = load_default_content_classifier()
    score = metrics.content_accuracy(classifier, drawn.images, drawn.codepoints)
    assert score["content_accuracy"] >= 0.98
    small = metrics.resize_glyphs(drawn.images, (32, 32))
    np.testing.assert_allclose(classifier.features(drawn.images[:64]),
                               classifier.features(small[:64]), atol=0.15)  # fmt: skip
    with pytest.raises(CheckpointError, match="another aspect"):
        classifier.features(np.zeros((2, 64, 96), np.uint8))
    with pytest.raises(CheckpointError, match="given 16×16 .smaller glyphs"):
        classifier.features(np.zeros((2, 16, 16), np.uint8))


def test_glyph_sets_join_the_training_faces(tmp_path, small_corpus):
    """--glyph-sets: a model's drawings train beside the corpus faces, each as one more
    face, restricted to the run's charset; another size is refused naming the folder."""
    from hangulgan.data.glyphset import GlyphSet

    pen = Corpus.open(small_corpus).face("NanumPen")
    drawn = tmp_path / "drawn"
    # named like a corpus face: it must join as a face of its own, not replace it
    GlyphSet(np.asarray(pen.images)[::-1].copy(), pen.codepoints, "NanumGothic", {}).save(drawn)
    data = ClassifierDataConfig(
        corpus=str(small_corpus),
        holdout_faces=["NanumPen"],
        glyph_sets=[str(drawn)],
        charset=str(tmp_path / "charset.txt"),
    )
    (tmp_path / "charset.txt").write_text("가나다라마", encoding="utf-8")
    dataset = GlyphClassifier.make_dataset(data)
    assert dataset.face_names == ["NanumGothic", "NanumMyeongjo", f"NanumGothic@{drawn}"]
    assert len(dataset) == 3 * 5
    extra = dataset.glyphs.faces == 2
    assert set(dataset.codepoints[extra].tolist()) == {ord(c) for c in "가나다라마"}
    row = int(np.flatnonzero(extra & (dataset.codepoints == ord("가")))[0])
    expected = np.asarray(pen.images)[::-1][pen.index_of("가")]
    np.testing.assert_array_equal(dataset.glyphs.raw_images(np.array([row]))[0], expected)

    big = tmp_path / "big"
    GlyphSet(np.zeros((2, 48, 48), np.uint8), pen.codepoints[:2], "Big", {}).save(big)
    code, out = run_cli(
        "train", "classifier", "--corpus", small_corpus, "--holdout-faces", "NanumPen",
        "--glyph-sets", big, "--steps", "1", "--run", tmp_path / "run", *FAST,
    )  # fmt: skip
    assert code == 2 and f"{big}: 48×48 glyphs" in out
    code, out = run_cli(
        "train", "classifier", "--corpus", small_corpus, "--holdout-faces", "NanumPen",
        "--glyph-sets", drawn, "--steps", "2", "--run", tmp_path / "run2", *FAST,
    )  # fmt: skip
    assert code == 0, out
