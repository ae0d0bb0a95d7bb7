"""Glyph bitmap → closed outlines, through potrace.

A glyph image is upscaled with interpolation and thresholded before tracing, so a 32×32
glyph traces into smooth strokes rather than pixel stairs: the threshold of the
interpolated coverage places the edge between pixels, where the source's anti-aliasing
says it lies. Outlines leave through the fontTools pen protocol (``moveTo``/``lineTo``/
``curveTo``/``closePath``) under an affine map from pixels to whatever units the caller
wants, so this module knows nothing of font files.

Backends, best first: ``libpotrace`` (ctypes onto the C library, see :mod:`._libpotrace`)
and ``pypotrace`` (the ``potrace`` Python package: the same library, but its bitmap copy
costs ten times the trace). Both give identical curves. The pure-Python ``potracer`` is not
used: the C library comes with the apt packages pypotrace builds against anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from hangulgan.errors import VectorError
from hangulgan.vector import _libpotrace

CURVETO = _libpotrace.CURVETO
CORNER = _libpotrace.CORNER
INTERPOLATIONS = ("linear", "cubic")

# A curve as potrace gives it: per-segment tags and an (n, 3, 2) array of control points.
Curve = tuple[np.ndarray, np.ndarray]


class Pen(Protocol):
    """The part of fontTools' pen protocol that tracing uses."""

    def moveTo(self, pt: tuple[float, float]) -> None: ...  # noqa: N802 (fontTools' names)
    def lineTo(self, pt: tuple[float, float]) -> None: ...  # noqa: N802
    def curveTo(self, *pts: tuple[float, float]) -> None: ...  # noqa: N802
    def closePath(self) -> None: ...  # noqa: N802


@dataclass(frozen=True)
class TraceParams:
    """How a glyph image becomes outlines. Sizes are in *source* pixels, so the same
    settings mean the same thing at every upscale factor.

    upscale: interpolate the image by this factor before tracing (1 traces pixel stairs).
    interpolation: ``linear`` or ``cubic`` (Keys, a = -0.5) for the upscale.
    threshold: ink level in 0..1 of the interpolated image that counts as ink.
    turdsize: specks up to this area (source px²) are dropped; potrace gets it × upscale².
    alphamax: potrace's corner threshold (0 = polygon, 4/3 = no corners).
    opttolerance: allowed error (source px) when potrace joins curve segments; potrace
        gets it × upscale. Larger values give fewer points.
    """

    # Defaults tuned on the NanumGothic round trip over all 11,172 syllables
    # (benchmarks/bench_export.py): cubic interpolation keeps thin strokes' edges where the
    # anti-aliasing puts them, and a threshold a little under half makes up for the ink that
    # the interpolation and potrace's smoothing shave off convex shapes. 32 px: mean IoU
    # 0.939 with 174 points a glyph, against 0.913 and 192 for potrace's defaults.
    # alphamax 0.5 scores higher (0.943, 138 points: square stroke ends) but draws ovals
    # as visible polygons at display sizes; 1.0 keeps them smooth.
    upscale: int = 4
    interpolation: str = "cubic"
    threshold: float = 0.45
    turdsize: float = 0.5
    alphamax: float = 1.0
    opttolerance: float = 0.2

    def __post_init__(self) -> None:
        if not 1 <= self.upscale <= 16:
            raise ValueError(f"upscale must be 1..16, got {self.upscale}")
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"interpolation must be one of {', '.join(INTERPOLATIONS)}, "
                f"got {self.interpolation!r}"
            )
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must lie strictly between 0 and 1, got {self.threshold}")
        if self.turdsize < 0 or self.opttolerance < 0:
            raise ValueError("turdsize and opttolerance must not be negative")
        if not 0.0 <= self.alphamax <= 4.0 / 3.0:
            raise ValueError(f"alphamax must lie in 0..4/3, got {self.alphamax}")

    @classmethod
    def potrace_defaults(cls, upscale: int = 4) -> TraceParams:
        """potrace's own defaults (turdsize 2, alphamax 1, opttolerance 0.2, all in traced
        pixels) on the same upscaled bitmap: the baseline the benchmark compares against."""
        return cls(
            upscale=upscale,
            interpolation="linear",
            threshold=0.5,
            turdsize=2.0 / upscale**2,
            alphamax=1.0,
            opttolerance=0.2 / upscale,
        )

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain JSON-able values."""
        return asdict(self)


def _keys(d: float, a: float = -0.5) -> float:
    """Keys' cubic convolution kernel (a = -0.5: Catmull-Rom, what image libraries call
    bicubic)."""
    d = abs(d)
    if d <= 1:
        return (a + 2) * d**3 - (a + 3) * d**2 + 1
    if d < 2:
        return a * d**3 - 5 * a * d**2 + 8 * a * d - 4 * a
    return 0.0


@lru_cache(maxsize=32)
def phase_taps(factor: int, kind: str) -> tuple[tuple[tuple[int, float], ...], ...]:
    """For each of the ``factor`` output phases, the (source offset, weight) taps.

    Source pixel i covers [i, i+1) and its value sits at i + 0.5; output sample
    ``factor·i + p`` sits at i + (p + 0.5)/factor and reads pixels i + offset."""
    phases = []
    for p in range(factor):
        x = (p + 0.5) / factor - 0.5
        base = int(np.floor(x))
        t = x - base
        if kind == "linear":
            taps = [(base, 1.0 - t), (base + 1, t)]
        else:
            taps = [(base + k, _keys(t - k)) for k in (-1, 0, 1, 2)]
        phases.append(tuple((d, w) for d, w in taps if w != 0.0))
    return tuple(phases)


def _resample_axis(x: np.ndarray, factor: int, kind: str, axis: int) -> np.ndarray:
    n = x.shape[axis]
    pad = [(0, 0)] * x.ndim
    pad[axis] = (2, 2)  # edges repeat the border pixel; cubic taps reach two pixels out
    padded = np.pad(x, pad, mode="edge")
    shape = list(x.shape)
    shape[axis] = n * factor
    out = np.empty(shape, dtype=np.float32)

    def along(start: int, stop: int | None, step: int | None = None) -> tuple[slice, ...]:
        index = [slice(None)] * x.ndim
        index[axis] = slice(start, stop, step)
        return tuple(index)

    for phase, taps in enumerate(phase_taps(factor, kind)):
        acc: np.ndarray | None = None
        for offset, weight in taps:
            term = padded[along(2 + offset, 2 + offset + n)] * np.float32(weight)
            acc = term if acc is None else acc + term
        out[along(phase, None, factor)] = acc
    return out


def upscale(images: np.ndarray, factor: int, kind: str = "linear") -> np.ndarray:
    """Interpolate an (N, H, W) or (H, W) uint8 stack by ``factor``; float32 in 0..255.

    Separable polyphase resampling: each output phase is a weighted sum of 2 (linear) or
    4 (cubic) shifted copies of the input. Measured here on 11,172 glyphs: 0.3 CPU s,
    where the same resampling as matrix products took 0.2 s with one BLAS thread but 5-8 s
    when OpenBLAS spun its threads on a busy 2-core machine.
    """
    single = images.ndim == 2
    stack = (images[None] if single else images).astype(np.float32)
    out = _resample_axis(_resample_axis(stack, factor, kind, 2), factor, kind, 1)
    return out[0] if single else out


def binarize(images: np.ndarray, params: TraceParams) -> np.ndarray:
    """Upscale and threshold: the boolean bitmap(s) potrace traces."""
    return upscale(images, params.upscale, params.interpolation) >= params.threshold * 255.0


def backend_name() -> str:
    """The tracing backend this process uses."""
    return _backend()[0]


def backend_version() -> str:
    """The potrace library's version string (e.g. ``potracelib 1.16``) when the backend is
    ``libpotrace``; the backend's name otherwise."""
    name = backend_name()
    return _libpotrace.version() if name == "libpotrace" else name


@lru_cache(maxsize=1)
def _backend() -> tuple[str, Callable[..., list[Curve]]]:
    if _libpotrace.available():
        return "libpotrace", _libpotrace.trace
    try:
        import potrace
    except ImportError:
        return "none", _no_backend
    if not hasattr(potrace, "potracelib_version"):  # another package named potrace
        return "none", _no_backend
    return "pypotrace", package_tracer(potrace)


def _no_backend(*_args: Any, **_kwargs: Any) -> list[Curve]:
    raise VectorError(
        "potrace not found: install the C library (apt install libpotrace0, which make "
        "install brings with libpotrace-dev) or pip install pypotrace"
    )


def package_tracer(module: Any) -> Callable[..., list[Curve]]:
    """Wrap the pypotrace ``module``'s API into a tracer with :func:`potrace_bitmap`'s
    arguments that gives the same (tags, points) curves."""

    def trace_with_package(bits: np.ndarray, **kwargs: Any) -> list[Curve]:
        path = module.Bitmap(bits).trace(**kwargs)
        curves = []
        for curve in path:
            segments = list(curve.segments)
            tags = np.empty(len(segments), dtype=np.int32)
            points = np.zeros((len(segments), 3, 2))
            for i, seg in enumerate(segments):
                if seg.is_corner:
                    tags[i] = CORNER
                    points[i, 1] = tuple(seg.c)
                else:
                    tags[i] = CURVETO
                    points[i, 0] = tuple(seg.c1)
                    points[i, 1] = tuple(seg.c2)
                points[i, 2] = tuple(seg.end_point)
            curves.append((tags, points))
        return curves

    return trace_with_package


def potrace_bitmap(
    bits: np.ndarray,
    turdsize: int = 2,
    alphamax: float = 1.0,
    opticurve: bool = True,
    opttolerance: float = 0.2,
) -> list[Curve]:
    """Trace a boolean H×W bitmap (True = ink, row 0 at the top) with potrace's own
    parameters, in traced pixels, through the backend this process uses.

    Returns one ``(tags, points)`` pair per closed curve (each outline followed by the
    holes inside it): ``tags`` holds ``CURVETO`` or ``CORNER`` per segment, ``points`` is
    an (n, 3, 2) array of control points in pixels (x right, y down)."""
    _name, tracer = _backend()
    return tracer(
        np.ascontiguousarray(bits, dtype=bool),
        turdsize=turdsize,
        alphamax=alphamax,
        opticurve=opticurve,
        opttolerance=opttolerance,
    )


def trace_bitmap(bits: np.ndarray, params: TraceParams) -> list[Curve]:
    """Trace an already upscaled boolean bitmap into potrace curves (pixel units, y down)."""
    k = params.upscale
    return potrace_bitmap(
        bits,
        turdsize=int(round(params.turdsize * k * k)),
        alphamax=params.alphamax,
        opticurve=True,
        opttolerance=params.opttolerance * k,
    )


def draw_curves(
    curves: list[Curve],
    pen: Pen,
    scale: tuple[float, float],
    offset: tuple[float, float] = (0.0, 0.0),
) -> int:
    """Send curves to a pen under ``(x, y) → (x·sx + ox, y·sy + oy)``; returns the number
    of on-curve and control points drawn.

    A corner segment's end point lies on the straight edge to the next vertex, so it is
    dropped when the next segment is a corner too: it would be a redundant on-curve point.
    """
    sx, sy = scale
    ox, oy = offset
    drawn = 0
    for tags, points in curves:
        n = len(tags)
        if n == 0:
            continue
        pts = points.copy()
        pts[..., 0] = pts[..., 0] * sx + ox
        pts[..., 1] = pts[..., 1] * sy + oy
        xy = [[tuple(p) for p in seg] for seg in pts.tolist()]
        corner = (tags == CORNER).tolist()
        # one closed loop of operations; each ends on an on-curve point
        ops: list[tuple[tuple[float, float], ...]] = []
        for i in range(n):
            c0, c1, end = xy[i]
            if corner[i]:
                ops.append((c1,))
                if not corner[(i + 1) % n]:
                    ops.append((end,))
            else:
                ops.append((c0, c1, end))
        # the loop starts where its last operation ends; a closing straight edge is implied
        # by closePath, a closing curve is drawn
        pen.moveTo(ops[-1][-1])
        drawn += 1
        if len(ops[-1]) == 1:
            ops.pop()
        for op in ops:
            if len(op) == 1:
                pen.lineTo(op[0])
            else:
                pen.curveTo(*op)
            drawn += len(op)
        pen.closePath()
    return drawn


def trace_image(image: np.ndarray, params: TraceParams | None = None) -> list[Curve]:
    """Trace one H×W uint8 glyph image (0 paper, 255 ink); curves in *upscaled* pixels."""
    params = params or TraceParams()
    return trace_bitmap(binarize(image, params), params)
