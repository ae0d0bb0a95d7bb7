"""Where and in what a run computes: seeds, the device, the precision.

The trainer seeds every rank alike before building a model (identical initial weights) and
draws each step's randomness from seeds mixed of ``(seed, rank, step)`` (:func:`mix_seed`);
it trains on CUDA when present, else on the CPU, in bf16 autocast where the device runs
bf16 natively (:func:`resolve_precision`), else in float32.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from hangulgan.errors import ConfigError


def mix_seed(*parts: int) -> int:
    """A 63-bit seed from integers (splitmix64 rounds), for seeds ``(seed, rank, step)``."""
    state = 0x9E3779B97F4A7C15
    for part in parts:
        state = (state ^ (int(part) & 0xFFFFFFFFFFFFFFFF)) & 0xFFFFFFFFFFFFFFFF
        state = (state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        state = z ^ (z >> 31)
    return state & 0x7FFFFFFFFFFFFFFF


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA), numpy's global RNG and python's ``random``."""
    import random

    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def resolve_device(spec: str) -> torch.device:
    """``auto`` → CUDA when present, else CPU; otherwise the named device (checked)."""
    if spec in ("auto", "", None):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError as err:
        raise ConfigError(f"--device {spec}: {err}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {spec}: CUDA is not available on this machine")
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"--device {spec}: choose auto, cpu or cuda[:N]")
    return device


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The CPU feature flags Linux lists in ``/proc/cpuinfo`` (empty where unreadable)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
        except OSError:
            return set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def bf16_is_native(device: torch.device, flags: set[str] | None = None) -> bool:
    """Whether bf16 autocast speeds this device up, from its native bf16 support only.

    CUDA: compute capability 8.0 or more (Ampere and later have bf16 tensor cores). CPU:
    the AVX512-BF16 or AMX-BF16 instructions (``flags`` from :func:`cpu_flags`), where
    oneDNN's bf16 convolutions and matmuls nearly double the DCGAN step (measured: ~950
    against ~500 img/s at batch 256). oneDNN also runs bf16 on plain AVX-512 by emulation,
    slower than float32, so its own "bf16 supported" answer is not used.
    """
    if device.type == "cuda":
        return torch.cuda.get_device_capability(device)[0] >= 8
    if device.type == "cpu":
        flags = cpu_flags() if flags is None else flags
        return "avx512_bf16" in flags or {"amx_bf16", "amx_tile"} <= flags
    return False


def resolve_precision(amp: str, device: torch.device) -> str:
    """``float32`` or ``bf16`` for ``--amp auto|off|bf16`` on ``device``."""
    if amp == "bf16":
        if device.type not in ("cuda", "cpu"):
            raise ConfigError(f"--amp bf16: no bf16 autocast on {device.type}")
        return "bf16"
    if amp == "auto" and bf16_is_native(device):
        return "bf16"
    return "float32"


# what torch says when an allocation fails (CUDA raises torch.OutOfMemoryError; the CPU
# allocator a RuntimeError "DefaultCPUAllocator: not enough memory: you tried to allocate")
_OUT_OF_MEMORY_TEXT = ("out of memory", "not enough memory", "can't allocate memory")


def is_out_of_memory(err: BaseException) -> bool:
    """Whether ``err`` says an allocation failed (torch on CUDA or CPU, or Python's own)."""
    if isinstance(err, MemoryError) or isinstance(err, getattr(torch, "OutOfMemoryError", ())):
        return True
    return isinstance(err, RuntimeError) and any(
        text in str(err).lower() for text in _OUT_OF_MEMORY_TEXT
    )


@contextmanager
def out_of_memory_as_error(what: Callable[[], str]) -> Iterator[None]:
    """Turn an allocation failure inside the block into a one-line ConfigError: "out of
    memory WHAT" (``what()`` names the sizes, e.g. "training dcgan (batch 256, ...)"); any
    other exception passes through unchanged."""
    try:
        yield
    except (MemoryError, RuntimeError) as err:
        if not is_out_of_memory(err):
            raise
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        raise ConfigError(
            f"out of memory {what()}: choose smaller sizes or a smaller batch"
        ) from None
