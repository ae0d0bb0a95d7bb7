"""CPU settings of a training process: glibc's malloc, and deterministic kernels.

Torch keeps no caching allocator on the CPU; :func:`reuse_freed_memory` has glibc's malloc
play that part. ``train`` applies it for the length of a run on CPU (``--cpu-malloc``, on
by default) through :func:`malloc_reuse`, which gives glibc its stock settings back when
the run ends, so a longer process (``complete``, which fine-tunes and then traces) goes on
with the allocator it started with.

:func:`deterministic_kernels` has torch pick its deterministic implementations for the
run: with two threads the backward of an advanced index (``codes[group]``, an
``index_put_`` that accumulates) summed in a varying order, so two adaptations with one
seed differed by up to 5e-3 in a weight after 20 steps (bit-identical with it, and with
one thread).
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
from collections.abc import Callable, Iterator

# glibc mallopt parameters (malloc.h) and glibc's defaults for them (mallopt(3))
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
STOCK_TRIM_THRESHOLD = 128 * 1024
STOCK_MMAP_MAX = 65536
REUSE_TRIM_THRESHOLD = 2**30  # keep up to 1 GiB of freed memory at the heap's top

# whether this process's malloc runs with reuse_freed_memory's settings now
_reusing = False


def _mallopt() -> Callable[[int, int], int] | None:
    """glibc's ``mallopt``, or None where there is none (not Linux; musl and others)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return None


def reuse_freed_memory() -> bool:
    """Have glibc's malloc hand large tensors memory the process has already touched.

    By default glibc serves each allocation of 32 MiB or more (and smaller ones above its
    adaptive threshold) with fresh pages from ``mmap`` and unmaps them on free, so every
    such tensor of every step pays for page faults and zeroing: at batch 256 the DCGAN's
    32 MiB activations held its float32 step to 194 img/s, against 218 with this setting
    (bench_dcgan, one thread, 2-core AMD EPYC). TensorFlow keeps its own caching
    allocator on CPU, torch does not. With mmap off and the heap's top kept, freed blocks
    are reused; the process keeps its peak memory instead of returning it between steps.
    Applies to the whole process until :func:`stock_malloc` (``train`` scopes it with
    :func:`malloc_reuse`). Returns whether it took effect (glibc only).
    """
    global _reusing
    mallopt = _mallopt()
    if mallopt is None:
        return False
    done = bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, REUSE_TRIM_THRESHOLD))
    _reusing = _reusing or done
    return done


def stock_malloc() -> bool:
    """Give glibc's malloc its default mmap count and trim threshold back (65,536 mmapped
    chunks, 128 KiB), undoing :func:`reuse_freed_memory`: large allocations are again
    served by ``mmap`` and freed memory above the threshold is returned to the system.

    glibc's adaptive mmap threshold stays where it was: setting either value by
    ``mallopt`` switches the adaptation off, and no call switches it back on. Returns
    whether it took effect (glibc only).
    """
    global _reusing
    mallopt = _mallopt()
    if mallopt is None:
        return False
    done = bool(mallopt(M_MMAP_MAX, STOCK_MMAP_MAX)) and bool(
        mallopt(M_TRIM_THRESHOLD, STOCK_TRIM_THRESHOLD)
    )
    _reusing = _reusing and not done
    return done


@contextlib.contextmanager
def malloc_reuse(enabled: bool = True) -> Iterator[bool]:
    """:func:`reuse_freed_memory` for the length of a ``with`` block, glibc's stock
    settings back after it (:func:`stock_malloc`).

    Yields whether the process reuses freed memory inside the block. A process that reused
    it already (an enclosing block, a benchmark that called :func:`reuse_freed_memory`)
    keeps doing so after the block; ``enabled=False`` changes nothing.
    """
    if not enabled or _reusing:
        yield _reusing
        return
    applied = reuse_freed_memory()
    try:
        yield applied
    finally:
        if applied:
            stock_malloc()


@contextlib.contextmanager
def deterministic_kernels() -> Iterator[None]:
    """Deterministic torch kernels while the block runs (a kernel that has none only
    warns); the setting the process had comes back after."""
    import torch

    before = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before, warn_only=warn_only)
