"""Tracing: upscale, potrace backends, and the pen output."""

from __future__ import annotations

import numpy as np
import pytest
from fontTools.pens.recordingPen import RecordingPen

from hangulgan.errors import VectorError
from hangulgan.vector import trace
from hangulgan.vector.trace import TraceParams


def ring(size: int = 32) -> np.ndarray:
    """A square ring: one outline and one hole, with anti-aliased edges from a box filter."""
    big = np.zeros((size * 4, size * 4), dtype=np.float32)
    big[30:98, 30:98] = 1.0
    big[50:78, 50:78] = 0.0
    small = big.reshape(size, 4, size, 4).mean(axis=(1, 3))
    return np.round(small * 255).astype(np.uint8)


@pytest.mark.parametrize("kind", trace.INTERPOLATIONS)
def test_interpolation_preserves_constants_and_ramps(kind: str) -> None:
    for taps in trace.phase_taps(4, kind):
        assert sum(w for _d, w in taps) == pytest.approx(1.0)
    flat = np.full((3, 32, 32), 200, dtype=np.uint8)
    np.testing.assert_allclose(trace.upscale(flat, 4, kind), 200.0, atol=1e-3)
    # a linear ramp along x is reproduced exactly away from the clamped borders
    ramp = np.tile(np.arange(0, 256, 8, dtype=np.uint8), (32, 1))
    up = trace.upscale(ramp, 4, kind)
    centres = (np.arange(128) + 0.5) / 4 - 0.5
    np.testing.assert_allclose(up[5, 12:-12], 8 * centres[12:-12], atol=1e-3)


def test_upscale_keeps_edge_positions() -> None:
    # a left half-ink image: the 0.5 level of the interpolation sits at the true edge x = 16
    image = np.zeros((32, 32), dtype=np.uint8)
    image[:, :16] = 255
    bits = trace.binarize(image, TraceParams())
    assert bits.shape == (128, 128)
    assert bits[:, :64].all() and not bits[:, 64:].any()


def test_binarize_batch_matches_single() -> None:
    stack = np.stack([ring(), np.zeros((32, 32), np.uint8), ring()[::-1]])
    batch = trace.binarize(stack, TraceParams())
    for i in range(3):
        np.testing.assert_array_equal(batch[i], trace.binarize(stack[i], TraceParams()))


def test_params_are_validated() -> None:
    with pytest.raises(ValueError, match="upscale"):
        TraceParams(upscale=0)
    with pytest.raises(ValueError, match="interpolation"):
        TraceParams(interpolation="nearest")
    with pytest.raises(ValueError, match="threshold"):
        TraceParams(threshold=1.0)
    with pytest.raises(ValueError, match="alphamax"):
        TraceParams(alphamax=2.0)
    defaults = TraceParams.potrace_defaults(4)
    assert defaults.turdsize * 16 == pytest.approx(2) and defaults.opttolerance * 4 == 0.2


def test_libpotrace_traces_ring_into_outline_and_hole() -> None:
    assert trace.backend_name() == "libpotrace", "libpotrace (apt libpotrace0) must be installed"
    assert trace.backend_version().startswith("potracelib")
    curves = trace.trace_image(ring())
    assert len(curves) == 2
    for tags, points in curves:
        assert set(tags.tolist()) <= {trace.CURVETO, trace.CORNER}
        assert points.shape == (len(tags), 3, 2)
    outer, hole = (points[:, 2] for _tags, points in curves)
    # in upscaled pixels: the outline spans about 30..98, the hole 50..78
    assert outer.min() == pytest.approx(30, abs=1.5) and outer.max() == pytest.approx(98, abs=1.5)
    assert hole.min() == pytest.approx(50, abs=1.5) and hole.max() == pytest.approx(78, abs=1.5)


def test_pypotrace_gives_the_same_curves() -> None:
    potrace = pytest.importorskip("potrace")
    if not hasattr(potrace, "potracelib_version"):
        pytest.skip("the potrace module here is not pypotrace")
    bits = trace.binarize(ring(), TraceParams())
    ours = trace.potrace_bitmap(bits, turdsize=2, alphamax=1.0, opttolerance=0.2)
    theirs = trace.package_tracer(potrace)(bits, turdsize=2, alphamax=1.0, opttolerance=0.2)
    assert len(ours) == len(theirs)
    for (tags_a, pts_a), (tags_b, pts_b) in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(tags_a, tags_b)
        corner = tags_a == trace.CORNER
        np.testing.assert_allclose(pts_a[~corner], pts_b[~corner])
        np.testing.assert_allclose(pts_a[corner][:, 1:], pts_b[corner][:, 1:])


def test_turdsize_drops_specks() -> None:
    image = ring()
    image[2, 2] = 255  # one lone pixel: 16 upscaled px², above potrace's default
    assert len(trace.trace_image(image, TraceParams(turdsize=0))) == 3
    assert len(trace.trace_image(image, TraceParams(turdsize=1.5))) == 2


def test_draw_curves_maps_pixels_and_closes_contours() -> None:
    curves = trace.trace_image(ring(), TraceParams(alphamax=0.0))  # polygons only
    pen = RecordingPen()
    trace.draw_curves(curves, pen, scale=(0.5, -0.5), offset=(10.0, 100.0))
    ops = [op for op, _args in pen.value]
    assert ops.count("moveTo") == 2 and ops.count("closePath") == 2
    assert "curveTo" not in ops
    points = np.array([args[0] for op, args in pen.value if op in ("moveTo", "lineTo")])
    # x = 10 + px/2 and y = 100 - py/2 with px, py in 30..98
    assert points[:, 0].min() == pytest.approx(25, abs=1)
    assert points[:, 0].max() == pytest.approx(59, abs=1)
    assert points[:, 1].max() == pytest.approx(85, abs=1)
    assert points[:, 1].min() == pytest.approx(51, abs=1)
    # potrace's mid-edge end points between two corners are dropped: no point of a
    # polygon lies on the straight line through its neighbours
    contours, current = [], []
    for op, args in pen.value:
        if op in ("moveTo", "lineTo"):
            current.append(args[0])
        elif op == "closePath":
            contours.append(np.array(current))
            current = []
    for poly in contours:
        prev, nxt = np.roll(poly, 1, axis=0), np.roll(poly, -1, axis=0)
        cross = (poly - prev)[:, 0] * (nxt - poly)[:, 1] - (poly - prev)[:, 1] * (nxt - poly)[:, 0]
        assert np.all(np.abs(cross) > 1e-6)


def test_missing_potrace_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trace, "_backend", lambda: ("none", trace._no_backend))
    with pytest.raises(VectorError, match="apt install libpotrace0"):
        trace.trace_image(ring())


def test_empty_image_traces_to_nothing() -> None:
    assert trace.trace_image(np.zeros((32, 32), np.uint8)) == []
