"""Translation data (hangulgan.translate.data): the three folder layouts, corpus glyph
pairs, crops and flips from the batch seed, and each kind of bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hangulgan import hangul
from hangulgan.data.corpus_manifest import RenderSettings
from hangulgan.data.corpus_render import render_corpus
from hangulgan.errors import ConfigError
from hangulgan.translate.config import AutoencoderConfig, Pix2PixConfig, TranslateDataConfig
from hangulgan.translate.data import TranslationData
from hangulgan.translate.models import Pix2Pix

from conftest import NANUM, debian_font


def solid(path: Path, colour, size=(16, 16), mode="RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path)
    return path


def make_pairs(root: Path, n: int = 3, size: int = 16) -> Path:
    """A/ red images and B/ blue ones with matching names."""
    for i in range(n):
        solid(root / "A" / f"p{i}.png", (255, 0, 0), (size, size))
        solid(root / "B" / f"p{i}.png", (0, 0, 255), (size, size))
    return root


def test_aligned_folders_pair_by_name_and_resize(tmp_path):
    data = TranslationData(TranslateDataConfig(data=str(make_pairs(tmp_path)), size=8))
    assert data.layout == "folders" and data.paired and len(data) == 3
    batch = data.get_batch(np.arange(3), seed=1)
    assert batch["a"].shape == (3, 3, 8, 8) and batch["b"].shape == (3, 3, 8, 8)
    assert np.allclose(batch["a"][:, 0], 1) and np.allclose(batch["a"][:, 2], -1)  # red
    assert np.allclose(batch["b"][:, 2], 1) and np.allclose(batch["b"][:, 0], -1)  # blue


def test_side_by_side_images_split_into_input_and_target(tmp_path):
    image = Image.new("RGB", (32, 16), (255, 0, 0))
    image.paste((0, 255, 0), (16, 0, 32, 16))
    image.save(tmp_path / "one.jpg")
    data = TranslationData(TranslateDataConfig(data=str(tmp_path), size=16))
    assert data.layout == "side-by-side" and data.paired
    batch = data.get_batch(np.arange(1))
    assert batch["a"][0, 0].mean() > 0.9 and batch["b"][0, 1].mean() > 0.9


def test_unaligned_domains_draw_partners_from_the_seed(tmp_path):
    for i in range(4):
        solid(tmp_path / "trainA" / f"a{i}.png", (i * 60, 0, 0))
    for i in range(5):
        solid(tmp_path / "trainB" / f"b{i}.png", (0, i * 60, 0))
    data = TranslationData(TranslateDataConfig(data=str(tmp_path), size=16))
    assert data.layout == "unaligned" and not data.paired
    first, again = data.get_batch(np.arange(4), seed=3), data.get_batch(np.arange(4), seed=3)
    assert np.array_equal(first["b"], again["b"])
    other = [data.get_batch(np.arange(4), seed=s)["b"] for s in range(4, 9)]
    assert any(not np.array_equal(first["b"], b) for b in other)


def test_random_crop_and_flip_move_a_and_b_together(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(2):
        pixels = rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)
        for side in "AB":
            (tmp_path / side).mkdir(exist_ok=True)
            Image.fromarray(pixels).save(tmp_path / side / f"x{i}.png")
    config = TranslateDataConfig(data=str(tmp_path), size=16, load_size=20, flip=True)
    data = TranslationData(config)
    crops = [data.get_batch(np.arange(2), seed=s) for s in range(6)]
    for batch in crops:
        assert batch["a"].shape == (2, 3, 16, 16)
        assert np.array_equal(batch["a"], batch["b"])  # same crop, same flip
    assert len({batch["a"].numpy().tobytes() for batch in crops}) > 1


def test_gray_input_makes_a_grayscale_and_keeps_b_in_colour(tmp_path):
    make_pairs(tmp_path)
    data = TranslationData(TranslateDataConfig(data=str(tmp_path), size=8, gray_input=True))
    batch = data.get_batch(np.arange(1))
    a, b = batch["a"][0], batch["b"][0]
    assert np.allclose(a[0], a[1]) and np.allclose(a[1], a[2])
    assert not np.allclose(b[0], b[2])


def test_colorize_layout_pairs_each_colour_image_with_its_grayscale_copy(tmp_path):
    solid(tmp_path / "photo.png", (200, 30, 10))
    data = TranslationData(TranslateDataConfig(data=str(tmp_path), layout="colorize", size=8))
    assert data.paired and data.channels == 3 and len(data) == 1
    batch = data.get_batch(np.arange(1))
    a, b = batch["a"][0], batch["b"][0]
    assert np.allclose(a[0], a[2]) and not np.allclose(b[0], b[2])
    gray = (0.299 * 200 + 0.587 * 30 + 0.114 * 10) / 127.5 - 1
    assert np.allclose(a, gray, atol=1e-5)


def test_folders_with_no_images_are_a_clear_error(tmp_path):
    (tmp_path / "A").mkdir()
    (tmp_path / "B").mkdir()
    (tmp_path / "A" / "notes.txt").write_text("no image")
    with pytest.raises(ConfigError, match="hold no image"):
        TranslationData(TranslateDataConfig(data=str(tmp_path)))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match=f"{empty}: holds no image"):
        TranslationData(TranslateDataConfig(data=str(empty)))
    with pytest.raises(ConfigError, match="trainB: holds no image"):
        solid(tmp_path / "u" / "trainA" / "x.png", (1, 2, 3))
        (tmp_path / "u" / "trainB").mkdir()
        TranslationData(TranslateDataConfig(data=str(tmp_path / "u")))


def test_unreadable_images_are_skipped_with_a_count_and_other_modes_converted(tmp_path, capsys):
    make_pairs(tmp_path, n=2)
    (tmp_path / "A" / "broken.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "B" / "broken.png").write_bytes(b"garbage")
    solid(tmp_path / "A" / "gray.png", 255, mode="L")
    solid(tmp_path / "B" / "gray.png", 3, mode="P")
    solid(tmp_path / "A" / "alpha.png", (0, 0, 0, 0), mode="RGBA")  # transparent → white
    solid(tmp_path / "B" / "alpha.png", (0, 255, 0, 255), mode="RGBA")
    data = TranslationData(TranslateDataConfig(data=str(tmp_path), size=8))
    assert "skipped 2 unreadable image(s): A/broken.png" in capsys.readouterr().err
    assert len(data) == 4
    batch = data.get_batch(np.arange(4))
    assert batch["a"].shape == (4, 3, 8, 8)
    names = [p.name for p in data._paths_a]
    assert np.allclose(batch["a"][names.index("alpha.png")], 1.0)
    assert np.allclose(batch["a"][names.index("gray.png")], 1.0)


def test_mismatched_pairs_are_listed(tmp_path):
    make_pairs(tmp_path, n=2)
    solid(tmp_path / "A" / "lonely.png", (1, 1, 1))
    solid(tmp_path / "B" / "stray.png", (1, 1, 1))
    with pytest.raises(ConfigError, match=r"only in A/: lonely.png; only in B/: stray.png"):
        TranslationData(TranslateDataConfig(data=str(tmp_path)))


def test_sizes_the_unet_cannot_halve_name_the_sizes_that_work(tmp_path):
    make_pairs(tmp_path)
    with pytest.raises(ConfigError, match=r"size 48 does not divide by 32.*32, 64, 96"):
        Pix2Pix.make_dataset(TranslateDataConfig(data=str(tmp_path), size=48), Pix2PixConfig())
    data = Pix2Pix.make_dataset(
        TranslateDataConfig(data=str(tmp_path), size=48), Pix2PixConfig(depth=4)
    )
    assert data.size == (48, 48)
    with pytest.raises(ConfigError, match="aligned pairs"):
        for i in range(2):
            solid(tmp_path / "u" / "trainA" / f"{i}.png", (1, 2, 3))
            solid(tmp_path / "u" / "trainB" / f"{i}.png", (1, 2, 3))
        Pix2Pix.make_dataset(
            TranslateDataConfig(data=str(tmp_path / "u"), size=16), AutoencoderConfig()
        )


# a tiny charset: 40 syllables of KS X 1001
CHARSET = hangul.ksx1001_syllables()[:40]


@pytest.fixture(scope="module")
def glyph_corpus(tmp_path_factory) -> Path:
    fonts = [debian_font(NANUM / f"{name}.ttf") for name in ("NanumGothic", "NanumMyeongjo")]
    out = tmp_path_factory.mktemp("translate") / "corpus"
    render_corpus(fonts, out, RenderSettings(charset_name="t", charset=CHARSET), progress=False)
    return out


def test_corpus_glyph_pairs_are_paired_by_syllable_with_a_held_out_split(glyph_corpus):
    config = TranslateDataConfig(
        corpus=str(glyph_corpus), source_face="NanumGothic", target_face="NanumMyeongjo",
        size=32, holdout=0.25,
    )  # fmt: skip
    data = TranslationData(config)
    assert data.paired and data.channels == 1 and data.ink
    assert len(data) + len(data.holdout_codepoints) == 40 and len(data.holdout_codepoints) == 10
    assert not set(data.codepoints.tolist()) & set(data.holdout_codepoints)
    batch = data.get_batch(np.arange(len(data)))
    assert batch["a"].shape == (30, 1, 32, 32)
    assert not np.array_equal(batch["a"], batch["b"])  # two faces
    from hangulgan.data.corpus import Corpus

    gothic = Corpus.open(glyph_corpus).face("NanumGothic")
    first = int(data.codepoints[0])
    expected = np.asarray(gothic.image(first), dtype=np.float32) / 127.5 - 1
    assert np.allclose(batch["a"][0, 0].numpy(), expected)


def test_unpaired_corpus_halves_share_no_syllable(glyph_corpus):
    config = TranslateDataConfig(
        corpus=str(glyph_corpus), source_face="NanumGothic", target_face="NanumMyeongjo",
        size=32, unpaired=True, channels=3,
    )  # fmt: skip
    data = TranslationData(config)
    assert not data.paired and data.channels == 3
    cps_b = set(range(1))  # the B half: the syllables A does not have
    cps_a = set(data.codepoints.tolist())
    train = set(CHARSET) - set(data.holdout_codepoints)
    cps_b = train - cps_a
    assert cps_a and cps_b and not cps_a & cps_b and data.domain_b_len == len(cps_b)
    assert data.get_batch(np.arange(3))["b"].shape == (3, 3, 32, 32)
    with pytest.raises(ConfigError, match="aligned pairs"):
        Pix2Pix.make_dataset(config, Pix2PixConfig())
