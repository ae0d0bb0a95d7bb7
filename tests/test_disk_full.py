"""A full disk gives "PATH: no space left on device" and leaves the earlier output intact.

The unit tests fake the failure where each writer meets it; the others fill a real,
small tmpfs in a private mount namespace (``unshare -rm``), skipped where the kernel does
not allow one.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hangulgan.errors import DiskFullError
from hangulgan.io import atomic_dir, atomic_path, is_disk_full, write_bytes_atomic

ROOT = Path(__file__).resolve().parents[1]


def test_enospc_in_an_atomic_file_write(tmp_path, monkeypatch):
    target = tmp_path / "a.json"
    write_bytes_atomic(target, b"earlier")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(DiskFullError, match=r"^.*a\.json: no space left on device$"):
        write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"earlier"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]  # no temporary left


@pytest.mark.parametrize(
    "failure",
    [
        OSError("8192 requested and 4096 written"),  # numpy's tofile() on a full disk
        RuntimeError("Error while serializing: I/O error: No space left on device (os error 28)"),
        OSError(errno.EDQUOT, "Disk quota exceeded"),
    ],
    ids=["numpy-short-write", "safetensors", "quota"],
)
def test_every_library_s_way_of_saying_disk_full(tmp_path, failure):
    assert is_disk_full(failure)
    target = tmp_path / "face"
    with atomic_dir(target) as tmp:
        (tmp / "x").write_text("earlier")
    with pytest.raises(DiskFullError, match="face: no space left on device"):
        with atomic_dir(target, replace=True) as tmp:
            (tmp / "x").write_text("new")
            raise failure
    assert (target / "x").read_text() == "earlier"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["face"]


def test_other_errors_pass_through_unchanged(tmp_path):
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    with pytest.raises(PermissionError):
        with atomic_path(tmp_path / "x") as tmp:
            raise PermissionError(errno.EACCES, "Permission denied", str(tmp))


# --------------------------------------------------------------------- a real full disk


def private_tmpfs_works() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt 2>/dev/null"],
        capture_output=True,
    )
    return probe.returncode == 0


needs_tmpfs = pytest.mark.skipif(
    not private_tmpfs_works(), reason="no private mount namespace (unshare -rm) here"
)


def on_full_disk(mount: Path, command: list[str]) -> subprocess.CompletedProcess:
    """Run ``command`` with a 1 MiB tmpfs at ``mount`` that holds ``earlier`` files and is
    then filled to the last byte; stdout ends with the earlier grid.png's text and a
    listing of the tmpfs (both gone once the namespace ends)."""
    fill = (
        f"mount -t tmpfs -o size=1m tmpfs {mount} && "
        f"printf earlier > {mount}/grid.png && mkdir {mount}/glyphs && "
        f"printf earlier > {mount}/glyphs/glyphset.json && "
        f"printf earlier > {mount}/manifest.json && "
        f"(dd if=/dev/zero of={mount}/filler bs=4k 2>/dev/null; true) && "
        '"$@"; rc=$?; '
        f'echo "earlier=$(cat {mount}/grid.png)"; echo "left=$(ls -A {mount} | tr "\\n" " ")"; '
        "exit $rc"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", fill, "sh", *command],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


WRITERS = """
import sys, numpy as np, torch
from pathlib import Path
from safetensors.torch import save_file
from hangulgan.data.glyphset import GlyphSet
from hangulgan.errors import DiskFullError
from hangulgan.io import atomic_path, write_json_atomic
from hangulgan.train.grid import save_grid

mount = Path(sys.argv[1])
images = np.full((64, 64, 64), 255, np.uint8)
writes = {
    "manifest.json": lambda: write_json_atomic(mount / "manifest.json", {"x": "y" * 100000}),
    "glyphs": lambda: GlyphSet(images, 0xAC00 + np.arange(64)).save(mount / "glyphs", True),
    "grid.png": lambda: save_grid(torch.rand(64, 1, 64, 64) * 2 - 1, mount / "grid.png"),
    "c.safetensors": lambda: _save(mount / "c.safetensors"),
}

def _save(path):
    with atomic_path(path) as tmp:
        save_file({"w": torch.rand(100000)}, str(tmp))

for name, write in writes.items():
    try:
        write()
        print(name, "written")
    except DiskFullError as err:
        print(name, "->", err)
print("left:", sorted(p.name for p in mount.iterdir()))
print("glyphs:", sorted(p.name for p in (mount / "glyphs").iterdir()))
print("earlier:", (mount / "grid.png").read_text(), (mount / "manifest.json").read_text())
"""


@needs_tmpfs
def test_atomic_writers_on_a_real_full_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    result = on_full_disk(mount, [sys.executable, "-c", WRITERS, str(mount)])
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for name in ("manifest.json", "glyphs", "grid.png", "c.safetensors"):
        assert f"{name} -> {mount / name}: no space left on device" in out, out
    assert "left: ['filler', 'glyphs', 'grid.png', 'manifest.json']" in out  # no temporaries
    assert "glyphs: ['glyphset.json']" in out
    assert "earlier: earlier earlier" in out


@pytest.fixture
def tiny_run(tmp_path, test_font) -> Path:
    from hangulgan.cli import main

    corpus, run = tmp_path / "corpus", tmp_path / "run"
    result = CliRunner().invoke(main, ["render", str(test_font), str(corpus), "--size", "16"])
    assert result.exit_code in (0, 1), result.output
    fast = ["--batch", "4", "--steps", "1", "--no-progress", "--sample-every", "0"]
    result = CliRunner().invoke(
        main, ["train", "dcgan", "--corpus", str(corpus), "--run", str(run), *fast]
    )
    assert result.exit_code == 0, result.output
    return run


@needs_tmpfs
def test_sample_out_on_a_full_disk(tmp_path, tiny_run):
    mount = tmp_path / "disk"
    mount.mkdir()
    command = [sys.executable, "-m", "hangulgan", "sample", str(tiny_run), "--n", "64"]
    # a new grid: sample replaces an existing file only with --force, and only its own
    result = on_full_disk(
        mount, [*command, "--out", str(mount / "new.png"), "--out-set", str(mount / "g")]
    )
    # the grid comes first: it cannot be written, and the command stops there
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == f"error: {mount / 'new.png'}: no space left on device"
    assert "earlier=earlier" in result.stdout
    assert "left=filler glyphs grid.png manifest.json" in result.stdout  # no temporaries
