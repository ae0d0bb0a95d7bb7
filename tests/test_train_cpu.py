"""glibc malloc tuning is scoped to a training run: on inside it, glibc's stock settings
after it (so `complete`, which fine-tunes and then goes on, gets its allocator back)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import run_cli

SCRIPT = """
import ctypes, sys
import numpy as np
import torch
from hangulgan.train.cpu import malloc_reuse, reuse_freed_memory

class MallInfo2(ctypes.Structure):
    names = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
    _fields_ = [(name, ctypes.c_size_t) for name in names.split()]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2

def mmapped() -> int:
    # chunks malloc takes from mmap for a 64 MiB tensor (0: it reuses heap memory)
    added = []
    for _ in range(3):
        before = libc.mallinfo2().hblks
        t = torch.empty(64 * 2**20, dtype=torch.uint8)
        added.append(libc.mallinfo2().hblks - before)
        del t
    return max(added)

def trained(cpu_malloc: bool) -> list[int]:
    from hangulgan.data.dataset import GlyphDataset
    from hangulgan.data.glyphset import GlyphSet
    from hangulgan.models.dcgan_config import DCGANConfig
    from hangulgan.train.config import TrainConfig
    from hangulgan.train.trainer import new_model, train

    images = (np.random.default_rng(0).random((8, 16, 16)) > 0.5).astype(np.uint8) * 255
    data = GlyphDataset.from_glyphsets([GlyphSet(images, list(range(0xAC00, 0xAC08)))])
    config = TrainConfig(steps=1, batch=4, sample_every=0, progress=False, grid=2, device="cpu")
    model = new_model("dcgan", DCGANConfig(standing_samples=8), data, config)
    during = []
    train(model, config, data, None, cpu_malloc=cpu_malloc,
          callbacks=[lambda trainer, step, losses: during.append(mmapped())])
    return during

mode = sys.argv[1]
if mode == "scoped":
    with malloc_reuse() as reusing:
        assert reusing
        inside = mmapped()
    print(inside, mmapped())
elif mode == "disabled":
    with malloc_reuse(False) as reusing:
        assert not reusing
        inside = mmapped()
    print(inside, mmapped())
elif mode == "outer":
    assert reuse_freed_memory()
    with malloc_reuse() as reusing:
        assert reusing
        inside = mmapped()
    print(inside, mmapped())
elif mode == "train":
    print(trained(True)[0], mmapped())
elif mode == "train-off":
    print(trained(False)[0], mmapped())
"""


def mmapped_chunks(mode: str) -> tuple[int, int]:
    """(mmapped chunks for a 64 MiB tensor inside the scope, after it) in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=300
    )
    if "mallinfo2" in done.stderr:
        pytest.skip("this libc has no mallinfo2 (glibc before 2.33)")
    assert done.returncode == 0, done.stderr
    inside, after = done.stdout.split()[-2:]
    return int(inside), int(after)


glibc_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")


@glibc_only
def test_the_setting_holds_inside_the_block_and_glibcs_comes_back_after():
    assert mmapped_chunks("scoped") == (0, 1)
    assert mmapped_chunks("disabled") == (1, 1)


@glibc_only
def test_a_process_that_tuned_malloc_itself_keeps_its_setting():
    assert mmapped_chunks("outer") == (0, 0)


@glibc_only
def test_train_on_cpu_tunes_malloc_for_the_run_only():
    assert mmapped_chunks("train") == (0, 1)
    assert mmapped_chunks("train-off") == (1, 1)


def test_the_cli_option_reaches_train(tmp_path, test_font, monkeypatch):
    from hangulgan.train import trainer

    code, out = run_cli("render", test_font, tmp_path / "corpus", "--size", "16", "--quiet")
    assert code in (0, 1), out
    seen = []

    def watched(*args, cpu_malloc=True, **kwargs):
        seen.append(cpu_malloc)
        return train(*args, cpu_malloc=cpu_malloc, **kwargs)

    train = trainer.train
    monkeypatch.setattr(trainer, "train", watched)
    common = ("--corpus", tmp_path / "corpus", "--steps", "1", "--batch", "2", "--no-progress")
    for flags, run in (((), "on"), (("--no-cpu-malloc",), "off")):
        code, out = run_cli("train", "dcgan", *common, "--run", tmp_path / run, *flags)
        assert code == 0, out
    assert seen == [True, False]
