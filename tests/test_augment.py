import numpy as np
import torch

from hangulgan.data.augment import PARAM_NAMES, AugmentConfig, augment_batch, augment_copies


def _glyphs(n=64, size=32, seed=0):
    rng = np.random.default_rng(seed)
    images = np.zeros((n, size, size), dtype=np.uint8)
    for i in range(n):
        y, x = rng.integers(4, size - 12, 2)
        images[i, y : y + 8, x : x + 4] = 255
        images[i, y + 6 : y + 8, x : x + 10] = 255
    return images


def _only_shift(wrap):
    return AugmentConfig(
        rotation_deg=0,
        scale_range=(1, 1),
        shear_deg=0,
        shift_px=6,
        wrap=wrap,
        elastic_prob=0,
        stroke_prob=0,
        blur_prob=0,
        noise_prob=0,
    )


def test_seeded_and_reproducible():
    images = _glyphs()
    a, pa = augment_copies(images, 2, seed=7)
    b, pb = augment_copies(images, 2, seed=7)
    c, _ = augment_copies(images, 2, seed=8)
    assert np.array_equal(a, b) and np.array_equal(pa, pb)
    assert not np.array_equal(a, c)
    assert a.shape == (2, *images.shape) and pa.shape == (2, len(images), len(PARAM_NAMES))


def test_parameters_are_recorded_within_their_ranges():
    config = AugmentConfig()
    _, params = augment_copies(_glyphs(256), 1, config, seed=1)
    p = dict(zip(PARAM_NAMES, params[0].T, strict=True))
    assert np.abs(p["angle_deg"]).max() <= config.rotation_deg
    assert p["scale"].min() >= 0.9 and p["scale"].max() <= 1.1
    assert np.abs(p["shift_x_px"]).max() <= config.shift_px
    assert 0 < (p["stroke"] != 0).mean() < 1  # applied to part of the batch only


def test_wrapped_shift_keeps_all_ink_and_padded_shift_loses_some():
    images = np.zeros((32, 32, 32), dtype=np.uint8)
    images[:, 26:31, 2:30] = 255  # a bar along the bottom edge: shifts push it off
    generator = torch.Generator().manual_seed(0)
    wrapped, params = augment_batch(torch.from_numpy(images), _only_shift(True), generator)
    ink = images.reshape(32, -1).sum(1).astype(float)
    wrapped_ink = wrapped.numpy().reshape(32, -1).sum(1).astype(float)
    # Bilinear resampling of a wrapped image preserves its total ink (up to rounding).
    assert np.allclose(wrapped_ink, ink, rtol=0.01)
    generator = torch.Generator().manual_seed(0)
    padded, _ = augment_batch(torch.from_numpy(images), _only_shift(False), generator)
    padded_ink = padded.numpy().reshape(32, -1).sum(1).astype(float)
    down = params[:, PARAM_NAMES.index("shift_y_px")].numpy() > 1.5
    assert (padded_ink[down] < 0.9 * ink[down]).all()


def test_default_augmentation_changes_images_but_keeps_them_glyph_like():
    images = _glyphs(128)
    out, _ = augment_copies(images, 1, seed=3)
    assert (out[0] != images).any(axis=(1, 2)).all()
    ink_ratio = out[0].astype(float).sum() / images.astype(float).sum()
    assert 0.6 < ink_ratio < 1.6
