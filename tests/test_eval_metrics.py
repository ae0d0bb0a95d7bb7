"""The metrics module against its references: scikit-image SSIM, DM-Font's MS-SSIM."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.metrics import structural_similarity

from hangulgan.data.glyphset import GlyphSet
from hangulgan.errors import GlyphSetError
from hangulgan.eval import metrics


def _glyph_pairs(n: int = 12, size: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Glyph-like uint8 pairs: soft-edged random strokes, the second a perturbed copy."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    a = np.zeros((n, size, size), dtype=np.float64)
    for i in range(n):
        for _ in range(4):
            if rng.random() < 0.5:
                row, width = rng.uniform(4, size - 4), rng.uniform(1.5, 3.5)
                a[i] = np.maximum(a[i], np.clip(width - np.abs(yy - row), 0, 1))
            else:
                col, width = rng.uniform(4, size - 4), rng.uniform(1.5, 3.5)
                a[i] = np.maximum(a[i], np.clip(width - np.abs(xx - col), 0, 1))
    b = np.roll(a, shift=1, axis=2) * rng.uniform(0.7, 1.0, size=(n, 1, 1))
    b = np.clip(b + rng.normal(0, 0.05, size=b.shape), 0, 1)
    return (a * 255).round().astype(np.uint8), (b * 255).round().astype(np.uint8)


def test_ssim_matches_scikit_image():
    a, b = _glyph_pairs()
    ours = metrics.ssim(a, b)
    for i in range(len(a)):
        reference = structural_similarity(
            a[i] / 255.0,
            b[i] / 255.0,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=1.0,
        )
        assert ours[i] == pytest.approx(reference, abs=1e-4)
    assert metrics.ssim(a, a) == pytest.approx(np.ones(len(a)), abs=1e-6)


def _dmfont_ms_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """DM-Font's evaluator, written out plainly for one glyph (clovaai/dmfont evaluator.py
    and ssim.py): [-1, 1], bicubic align_corners to 128, 2-D 11×11 window σ 1.5, no padding,
    L from the image range, 4 levels with 2×2 average pooling, prod(mcs[:-1]**w * ssim**w)."""
    x = torch.tensor(a / 255.0 * 2 - 1, dtype=torch.float64)[None, None]
    y = torch.tensor(b / 255.0 * 2 - 1, dtype=torch.float64)[None, None]
    x = F.interpolate(x, size=128, mode="bicubic", align_corners=True)
    y = F.interpolate(y, size=128, mode="bicubic", align_corners=True)
    g = torch.tensor([math.exp(-((i - 5) ** 2) / (2 * 1.5**2)) for i in range(11)])
    g = (g / g.sum()).double()
    window = (g[:, None] @ g[None, :])[None, None]
    weights = torch.tensor([0.25, 0.3, 0.3, 0.15], dtype=torch.float64)
    sims, css = [], []
    for _ in range(4):
        value_range = (255 if x.max() > 128 else 1) - (-1 if x.min() < -0.5 else 0)
        c1, c2 = (0.01 * value_range) ** 2, (0.03 * value_range) ** 2
        mu1, mu2 = F.conv2d(x, window), F.conv2d(y, window)
        s1 = F.conv2d(x * x, window) - mu1**2
        s2 = F.conv2d(y * y, window) - mu2**2
        s12 = F.conv2d(x * y, window) - mu1 * mu2
        v1, v2 = 2 * s12 + c2, s1 + s2 + c2
        css.append(torch.mean(v1 / v2))
        sims.append((((2 * mu1 * mu2 + c1) * v1) / ((mu1**2 + mu2**2 + c1) * v2)).mean())
        x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    pow1 = torch.stack(css) ** weights
    pow2 = torch.stack(sims) ** weights
    return float(torch.prod(pow1[:-1] * pow2[-1]))


def test_ms_ssim_matches_the_dmfont_evaluator():
    a, b = _glyph_pairs(n=6, seed=3)
    ours = metrics.ms_ssim(a, b)
    for i in range(len(a)):
        assert ours[i] == pytest.approx(_dmfont_ms_ssim(a[i], b[i]), abs=1e-4)
    assert metrics.ms_ssim(a, a) == pytest.approx(np.ones(len(a)), abs=1e-5)
    # A perturbed copy scores below an identical one.
    assert (ours < 0.999).all()


def test_pixel_metrics_match_numpy():
    a, b = _glyph_pairs(n=5, seed=7)
    x, y = a / 255.0, b / 255.0
    table = metrics.pixel_metrics(a, b)
    assert table["l1"] == pytest.approx(np.abs(x - y).mean(axis=(1, 2)), abs=1e-6)
    mse = ((x - y) ** 2).mean(axis=(1, 2))
    assert table["rmse"] == pytest.approx(np.sqrt(mse), abs=1e-6)
    assert table["psnr"] == pytest.approx(10 * np.log10(1 / mse), abs=1e-3)
    ink_a, ink_b = x >= 0.5, y >= 0.5
    iou = (ink_a & ink_b).sum(axis=(1, 2)) / (ink_a | ink_b).sum(axis=(1, 2))
    assert table["ink_iou"] == pytest.approx(iou, abs=1e-9)
    assert table["ssim"] == pytest.approx(metrics.ssim(a, b), abs=1e-6)
    assert table["ms_ssim"] == pytest.approx(metrics.ms_ssim(a, b), abs=1e-6)
    # The single-metric functions agree with the table.
    assert metrics.l1(a, b) == pytest.approx(table["l1"])
    assert metrics.ink_iou(a, b) == pytest.approx(table["ink_iou"])


def test_identical_and_blank_glyphs():
    blank = np.zeros((2, 32, 32), dtype=np.uint8)
    table = metrics.pixel_metrics(blank, blank)
    assert table["psnr"] == pytest.approx([metrics.PSNR_CAP_DB] * 2)
    assert table["ink_iou"] == pytest.approx([1.0, 1.0])
    assert table["l1"] == pytest.approx([0.0, 0.0])


def test_metrics_reject_mismatched_batches():
    a, b = _glyph_pairs(n=3)
    with pytest.raises(ValueError, match="length"):
        metrics.ssim(a, b[:2])
    with pytest.raises(ValueError, match="smaller than the SSIM window"):
        metrics.ssim(a[:, :8, :8], b[:, :8, :8])


def _glyphset(images: np.ndarray, codepoints: list[int], name: str) -> GlyphSet:
    return GlyphSet(images=images, codepoints=np.array(codepoints), name=name)


def test_compare_glyphsets_uses_shared_code_points_in_order():
    a, b = _glyph_pairs(n=4, seed=2)
    generated = _glyphset(a, [0xAC00, 0xAC01, 0xAC02, 0xAC03], "gen")
    # The real set holds the same syllables in another order, plus one the other lacks.
    real_images = np.concatenate([a[[3, 1]], b[:1]])
    real = _glyphset(real_images, [0xAC03, 0xAC01, 0xD7A3], "real")
    result = metrics.compare_glyphsets(generated, real)
    assert result["count"] == 2
    assert result["l1"] == pytest.approx(0.0)
    assert result["ssim"] == pytest.approx(1.0, abs=1e-6)
    assert any("2 code points" in note for note in result["notes"])


def test_compare_glyphsets_resizes_with_a_note():
    a, _ = _glyph_pairs(n=3, size=64, seed=4)
    small = metrics.resize_glyphs(a, (32, 32))
    result = metrics.compare_glyphsets(
        _glyphset(a, [0xAC00, 0xAC01, 0xAC02], "big"),
        _glyphset(small, [0xAC00, 0xAC01, 0xAC02], "small"),
    )
    assert result["count"] == 3
    assert result["ink_iou"] > 0.95
    assert any("resized" in note for note in result["notes"])


def test_compare_glyphsets_bad_input():
    a, _ = _glyph_pairs(n=2)
    empty = GlyphSet(images=np.zeros((0, 32, 32), np.uint8), codepoints=np.zeros(0), name="e")
    with pytest.raises(GlyphSetError, match="e: glyph set has no code points"):
        metrics.compare_glyphsets(empty, _glyphset(a, [0xAC00, 0xAC01], "r"))
    with pytest.raises(GlyphSetError, match="no code point in common"):
        metrics.compare_glyphsets(
            _glyphset(a, [0xAC00, 0xAC01], "g"), _glyphset(a, [0xAC02, 0xAC03], "r")
        )


def _bars(width: int, shear: float = 0.0, size: int = 32) -> np.ndarray:
    """Three vertical bars ``width`` px wide and 20 px tall, leaning by ``shear`` px per px
    of height (positive: the top to the right)."""
    image = np.zeros((size, size), dtype=np.uint8)
    for row in range(6, 26):
        offset = round(shear * (16 - row))
        for left in (6, 14, 22):
            start = left + offset
            image[row, start : start + width] = 255
    return image


@pytest.mark.parametrize("width", [1, 2, 3, 4, 6])
def test_shape_measures_stroke_width(width):
    # the skeleton's ends are lengthened by half a width: bars of any width read true
    measured = metrics.shape_measures(_bars(width)[None])["stroke_width"]
    assert measured == pytest.approx(width, rel=0.03)


def test_shape_measures_heavier_strokes_read_wider_and_blank_is_zero():
    thin, thick = (metrics.shape_measures(_bars(w)[None]) for w in (1, 3))
    assert thick["stroke_width"] > 2 * thin["stroke_width"]
    assert thick["coverage"] == pytest.approx(3 * thin["coverage"], rel=0.01)
    blank = metrics.shape_measures(np.zeros((2, 32, 32), dtype=np.uint8))
    assert blank == {"stroke_width": 0.0, "slant": 0.0, "coverage": 0.0}


def test_shape_measures_slant_sign_and_size():
    upright = metrics.shape_measures(_bars(2)[None])["slant"]
    right = metrics.shape_measures(_bars(2, shear=0.25)[None])["slant"]
    left = metrics.shape_measures(_bars(2, shear=-0.25)[None])["slant"]
    assert abs(upright) < 1.0
    # a shear of 0.25 px per px is atan(0.25) = 14°; the bars' rounding costs a little
    assert right == pytest.approx(math.degrees(math.atan(0.25)), abs=2.5)
    assert left == pytest.approx(-right, abs=0.5)


def test_compare_glyphsets_reports_shape_errors():
    real = GlyphSet(images=np.stack([_bars(2)] * 3), codepoints=np.array([0xAC00, 0xAC01, 0xAC02]))
    heavy = GlyphSet(images=np.stack([_bars(4)] * 3), codepoints=real.codepoints)
    row = metrics.compare_glyphsets(heavy, real)
    assert row["stroke_width_error"] == pytest.approx(1.0, rel=0.15)
    assert row["slant_error"] == pytest.approx(0.0, abs=0.5)
    same = metrics.compare_glyphsets(real, real)
    assert same["stroke_width_error"] == 0.0 and same["slant_error"] == 0.0
