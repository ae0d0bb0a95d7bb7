"""Glyph images → compiled glyphs, in a pool of worker processes.

Each glyph image is traced (:mod:`hangulgan.vector.trace`) straight into a skia-pathops path
in font units, placed by the glyph set's geometry (:func:`~hangulgan.vector.geometry.
pixel_transform`), and compiled (:mod:`hangulgan.vector.outlines`). Workers return each
glyph compiled, with its bounds and point counts, so the parent only assembles tables.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import multiprocessing.forkserver
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pathops

from hangulgan.data.placement import Geometry
from hangulgan.vector.geometry import pixel_transform
from hangulgan.vector.outlines import OutlineOverflow, compile_cff_glyph, compile_ttf_glyph
from hangulgan.vector.trace import TraceParams, binarize, draw_curves, trace_bitmap

# An image with more ink than this fraction of its area is not a glyph (a model's blown-out
# sample, a rendering error): it would become a solid block in the font.
MAX_INK_FRACTION = 0.9
UPSCALE_BATCH = 32
# bytes of interpolated floats upscaled at once: 32 glyphs of 32 px at 4x, one of 512 px;
# a batch of 1024 px glyphs would otherwise take 2 GB
UPSCALE_BYTES = 2**21
# Outline complexity a glyph may have (potrace's contours and segments, before overlaps are
# removed): pathops.simplify's time grows faster than linearly with it (measured on noise:
# 0.6 s at 5,000 segments, 1.8 s at 8,000, 25 s at 32,000, and over 10 minutes for a
# 1024 px noise image), while real glyphs stay far below (Hangul at 512 px: 900 segments
# in 11 contours). A glyph beyond either bound is skipped as "too complex".
MAX_CONTOURS = 500
MAX_SEGMENTS = 5000
# glyphs per task sent to a worker: small enough to balance two workers and to show
# progress, large enough that pickling and scheduling stay negligible
CHUNK = 128


@dataclass
class GlyphResult:
    """One traced glyph, compiled; small enough to pass between processes."""

    codepoint: int
    data: Any  # compiled glyf bytes (ttf) or a Type 2 charstring program (otf)
    bounds: tuple[int, int, int, int]
    points: int
    contours: int


@dataclass
class SkippedGlyph:
    """A glyph left out of the font, and why."""

    codepoint: int
    reason: str

    def __str__(self) -> str:
        return f"U+{self.codepoint:04X} {chr(self.codepoint)} ({self.reason})"


def glyph_paths(
    images: np.ndarray,
    codepoints: np.ndarray,
    params: TraceParams,
    geometry: Geometry | None = None,
) -> Iterator[tuple[int, pathops.Path | str]]:
    """Trace a stack of glyph images into pathops paths in font units, placed by
    ``geometry`` (default: the legacy reading of a canvas as the em), or the reason a glyph
    is skipped (``empty``, ``all ink``, ``only specks``, ``too complex``: more than
    :data:`MAX_CONTOURS` contours or :data:`MAX_SEGMENTS` segments). Overlaps are not
    removed yet."""
    size = images.shape[1]
    geometry = geometry or Geometry.legacy(size)
    cutoff = params.threshold * 255.0
    ink = (np.asarray(images) >= cutoff).reshape(len(images), -1).mean(axis=1)
    cps = codepoints.tolist()
    # upscale in small batches: the interpolated float stack of a big chunk (64 KB a glyph
    # at 32 px, 4×) spills out of cache and made the upscale 5× slower per glyph
    per_glyph = 4 * images.shape[1] * images.shape[2] * params.upscale**2
    batch = max(1, min(UPSCALE_BATCH, UPSCALE_BYTES // per_glyph))
    for begin in range(0, len(images), batch):
        bits = binarize(images[begin : begin + batch], params)
        for i, glyph_bits in enumerate(bits, start=begin):
            if not glyph_bits.any():
                yield cps[i], "empty"
                continue
            if ink[i] > MAX_INK_FRACTION:
                yield cps[i], "all ink"
                continue
            curves = trace_bitmap(glyph_bits, params)
            if not curves:
                yield cps[i], "only specks"
                continue
            if len(curves) > MAX_CONTOURS or sum(len(t) for t, _ in curves) > MAX_SEGMENTS:
                yield cps[i], "too complex"
                continue
            path = pathops.Path()
            scale, offset = pixel_transform(geometry, geometry.advance_of(cps[i]), params.upscale)
            draw_curves(curves, path.getPen(), scale, offset)
            yield cps[i], path


def trace_chunk(
    images: np.ndarray,
    codepoints: np.ndarray,
    params: TraceParams,
    fmt: str,
    geometry: Geometry | None = None,
) -> tuple[list[GlyphResult | SkippedGlyph], float]:
    """Trace and compile one chunk of glyphs (runs in a worker process); returns the
    results and the CPU seconds they took, so a build can tell work from waiting on a
    busy machine."""
    cpu = time.process_time()
    compile_glyph = compile_ttf_glyph if fmt == "ttf" else compile_cff_glyph
    out: list[GlyphResult | SkippedGlyph] = []
    for cp, path in glyph_paths(images, codepoints, params, geometry):
        if isinstance(path, str):
            out.append(SkippedGlyph(cp, path))
            continue
        try:
            data, bounds, points, contours = compile_glyph(path)
        except OutlineOverflow:
            out.append(SkippedGlyph(cp, "beyond TrueType's limits"))
            continue
        if contours == 0:
            out.append(SkippedGlyph(cp, "only specks"))
        else:
            out.append(GlyphResult(cp, data, bounds, points, contours))
    return out, time.process_time() - cpu


def trace_glyphs(
    images: np.ndarray,
    codepoints: np.ndarray,
    params: TraceParams,
    fmt: str = "ttf",
    workers: int = 1,
    chunk: int = CHUNK,
    progress: Callable[[int], None] | None = None,
    cpu: list[float] | None = None,
    geometry: Geometry | None = None,
) -> list[GlyphResult | SkippedGlyph]:
    """Trace every glyph, in ``workers`` processes (1 = in this process), in input order,
    placed by ``geometry`` (see :func:`glyph_paths`).

    With ``cpu`` (a list), the CPU seconds each chunk took are appended to it."""
    starts = range(0, len(codepoints), chunk)
    results: list[GlyphResult | SkippedGlyph] = []

    def collect(part: list[GlyphResult | SkippedGlyph], seconds: float) -> None:
        results.extend(part)
        if cpu is not None:
            cpu.append(seconds)
        if progress:
            progress(len(part))

    if workers <= 1 or len(codepoints) <= chunk:
        for start in starts:
            collect(
                *trace_chunk(
                    images[start : start + chunk],
                    codepoints[start : start + chunk],
                    params,
                    fmt,
                    geometry,
                )
            )
        return results
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=_pool_context()
    ) as pool:
        futures = [
            pool.submit(
                trace_chunk,
                np.ascontiguousarray(images[start : start + chunk]),
                np.asarray(codepoints[start : start + chunk]),
                params,
                fmt,
                None
                if geometry is None
                else geometry.restricted(codepoints[start : start + chunk]),
            )
            for start in starts
        ]
        for future in futures:
            collect(*future.result())
    return results


def _pool_context() -> multiprocessing.context.BaseContext:
    """forkserver where there is one: workers start from a clean interpreter that imported
    only this module, so a parent holding threads (torch, BLAS) is never forked mid-lock.

    The server starts with BLAS limited to one thread: each worker's small upscale products
    gain nothing from threads, and two workers each spinning up a BLAS pool on two cores
    only fight over them."""
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" not in methods:
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    saved = {key: os.environ.get(key) for key in _BLAS_THREAD_VARS}
    os.environ.update(dict.fromkeys(_BLAS_THREAD_VARS, "1"))
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return ctx


_BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
