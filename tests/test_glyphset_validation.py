"""A damaged glyph set is refused with one line naming the file, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from fontTools.ttLib import TTFont

from hangulgan.cli import main
from hangulgan.data.glyphset import MAX_GLYPH_SIDE, GlyphSet
from hangulgan.errors import GlyphSetError

GA, NA, HAN = 0xAC00, 0xB098, 0xD55C


def glyph_images(n: int = 3, size: int = 32) -> np.ndarray:
    images = np.zeros((n, size, size), np.uint8)
    for i in range(n):
        images[i, 6 : size - 6, 8 + i : 14 + i] = 255  # a stem
        images[i, 10:14, 4 : size - 4] = 255  # a bar
    return images


@pytest.fixture
def glyphs(tmp_path) -> Path:
    return GlyphSet(glyph_images(), [GA, NA, HAN], name="good").save(tmp_path / "glyphs")


def export(folder: Path, tmp_path: Path) -> tuple[int, str]:
    out = tmp_path / "Draft.ttf"
    result = CliRunner().invoke(main, ["export-ttf", str(folder), "--out", str(out)])
    return result.exit_code, result.output


def refused(folder: Path, tmp_path: Path, file: str, words: str) -> None:
    """export-ttf exits 2 with one line that names ``file`` and says ``words``."""
    code, out = export(folder, tmp_path)
    lines = out.strip().splitlines()
    assert code == 2 and len(lines) == 1, out
    assert lines[0].startswith(f"error: {folder / file}: "), out
    assert words in lines[0], out
    assert not (tmp_path / "Draft.ttf").exists()


def rewrite_header(folder: Path, **changes) -> None:
    path = folder / "glyphset.json"
    header = json.loads(path.read_text())
    header.update(changes)
    path.write_text(json.dumps(header))


def test_a_good_set_exports(glyphs, tmp_path):
    code, out = export(glyphs, tmp_path)
    assert code == 0, out


@pytest.mark.parametrize(
    "array,words",
    [
        (glyph_images().astype(np.float32), "dtype float32, a glyph set holds uint8 images"),
        (glyph_images()[0], "shape (32, 32), a glyph set holds N×H×W images"),
        (glyph_images().astype(np.int64), "dtype int64"),
    ],
    ids=["float", "2d", "int64"],
)
def test_images_of_the_wrong_dtype_or_shape(glyphs, tmp_path, array, words):
    np.save(glyphs / "images.npy", array)
    refused(glyphs, tmp_path, "images.npy", words)


def test_header_and_images_disagree(glyphs, tmp_path):
    rewrite_header(glyphs, count=4)
    refused(glyphs, tmp_path, "images.npy", "shape (3, 32, 32), glyphset.json says (4, 32, 32)")


def test_fewer_code_points_than_images(glyphs, tmp_path):
    np.save(glyphs / "codepoints.npy", np.array([GA, NA], np.int32))
    refused(glyphs, tmp_path, "codepoints.npy", "shape (2,), expected one per image (3)")


@pytest.mark.parametrize(
    "codepoints,words",
    [
        # an int64 that wraps to 가 when cast to int32: today it silently exports as 가
        (np.array([GA + 2**32, NA, HAN], np.int64), "4295011328 is not a Unicode code point"),
        (np.array([-1, NA, HAN], np.int64), "-1 is not a Unicode code point"),
        (np.array([0x110000, NA, HAN], np.int64), "1114112 is not a Unicode code point"),
        (np.array([0x0A, NA, HAN], np.int32), "U+000A is not a character a font can map"),
        (np.array([0xD800, NA, HAN], np.int32), "U+D800 is not a character a font can map"),
        (np.array([0xFFFF, NA, HAN], np.int32), "U+FFFF is not a character a font can map"),
        (np.array([GA, NA, GA], np.int32), "U+AC00 가 appears 2 times"),
        (np.array([GA, NA, HAN], np.float64), "dtype float64, code points are integers"),
        (np.array([GA, NA, HAN], np.uint64) + np.uint64(2**63), "is not a Unicode code point"),
    ],
    ids=[
        "wraps",
        "negative",
        "beyond",
        "control",
        "surrogate",
        "nonchar",
        "repeat",
        "float",
        "u64",
    ],
)
def test_code_points_a_font_cannot_map(glyphs, tmp_path, codepoints, words):
    np.save(glyphs / "codepoints.npy", codepoints)
    refused(glyphs, tmp_path, "codepoints.npy", words)


@pytest.mark.parametrize(
    "changes,words",
    [
        ({"count": "3"}, "'count' must be a non-negative integer, got '3'"),
        ({"height": 32.0}, "'height' must be a non-negative integer, got 32.0"),
        ({"width": True}, "'width' must be a non-negative integer, got True"),
        ({"width": None}, "'width' must be a non-negative integer, got None"),
        ({"name": 5}, "'name' must be a string, got 5"),
        ({"meta": []}, "'meta' must be an object, got []"),
        ({"augmentation": [2]}, "'augmentation' must be an object"),
        ({"augmentation": {"copies": "2"}}, "augmentation 'copies' must be a non-negative"),
        ({"augmentation": {"copies": 1, "params": "rot"}}, "'params' must be a list of names"),
    ],
    ids=["count", "height", "width", "width-none", "name", "meta", "aug", "copies", "params"],
)
def test_header_fields_of_the_wrong_type(glyphs, tmp_path, changes, words):
    rewrite_header(glyphs, **changes)
    refused(glyphs, tmp_path, "glyphset.json", words)


def test_augmented_copies_that_do_not_fit(tmp_path):
    images = glyph_images()
    folder = GlyphSet(
        images,
        [GA, NA, HAN],
        augmented=np.stack([images, images]),
        augment_params=np.zeros((2, 3, 2), np.float32),
        augment_param_names=["rotation", "scale"],
    ).save(tmp_path / "aug")
    assert GlyphSet.load(folder).augmented.shape == (2, 3, 32, 32)
    np.save(folder / "augment_params.npy", np.zeros((2, 3, 5), np.float32))
    with pytest.raises(GlyphSetError, match=r"augmented.npy: augmentation parameters of shape"):
        GlyphSet.load(folder)
    np.save(folder / "augmented.npy", np.zeros((2, 3, 16, 16), np.uint8))
    with pytest.raises(GlyphSetError, match=r"augmented.npy: shape \(2, 3, 16, 16\), expected"):
        GlyphSet.load(folder)


@pytest.mark.parametrize("side", [MAX_GLYPH_SIDE + 1, 8192])
def test_images_beyond_the_size_limit(glyphs, tmp_path, side):
    # a sparse file: the check must refuse it before reading (8192² dies in tracing today)
    images = np.lib.format.open_memmap(glyphs / "images.npy", "w+", np.uint8, (3, side, side))
    del images
    rewrite_header(glyphs, height=side, width=side)
    refused(glyphs, tmp_path, "images.npy", f"{side}×{side} images; the glyph size limit is")


def test_in_memory_sets_are_checked_too():
    images = glyph_images()
    with pytest.raises(GlyphSetError, match="^x: code points: 4295011328 is not a Unicode"):
        GlyphSet(images, np.array([GA + 2**32, NA, HAN], np.int64), name="x")
    with pytest.raises(GlyphSetError, match="^x: images: dtype bool"):
        GlyphSet(images.astype(bool), [GA, NA, HAN], name="x")
    with pytest.raises(GlyphSetError, match=r"^x: code points: shape \(2,\)"):
        GlyphSet(images, [GA, NA], name="x")
    with pytest.raises(GlyphSetError, match="^x: code points: dtype bool"):
        GlyphSet(images, np.array([True, False, True]), name="x")
    assert GlyphSet(images[:0], [], name="x").codepoints.dtype == np.int32


def test_latin_beside_hangul_exports_as_it_is(tmp_path):
    """Glyph sets may hold other characters than Hangul: export maps them as they are."""
    folder = GlyphSet(glyph_images(), [GA, ord("A"), ord("!")], name="mixed").save(
        tmp_path / "mixed"
    )
    code, out = export(folder, tmp_path)
    assert code == 0, out
    cmap = TTFont(tmp_path / "Draft.ttf").getBestCmap()
    assert {GA, ord("A"), ord("!")} <= set(cmap)
