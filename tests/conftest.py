"""Shared test helpers: small fonts built with fontTools, the Debian fonts when present, the
command line run in-process, and documented shell commands (the README's blocks, the
Makefile's demo recipe) run on a CI-sized setup."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import fontfactory

NANUM = Path("/usr/share/fonts/truetype/nanum")
NOTO = Path("/usr/share/fonts/opentype/noto")


@pytest.fixture
def test_font(tmp_path: Path) -> Path:
    """A TrueType font: 가 나 한 drawn as rectangles, 다 mapped but empty, 라 unmapped."""
    return fontfactory.build_font(tmp_path / "test-hangul.ttf")


def debian_font(path: Path) -> Path:
    """A Debian font file, or skip the test when it is not installed (make test installs it)."""
    if not path.exists():
        pytest.skip(f"{path} not installed (run make fonts)")
    return path


def run_cli(*args: object) -> tuple[int, str]:
    """Run ``hangulgan ARGS...`` in-process with click's runner: (exit code, output)."""
    # imported here, not at the top: conftest loads for every test, and a test that
    # never calls the CLI should not import it (nor torch, which it pulls in)
    from click.testing import CliRunner

    from hangulgan.cli import main

    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


ROOT = Path(__file__).resolve().parents[1]
# CI's `make fonts`: NanumGothic (the styled model's content face) and UnPilgi (the face
# the README's researcher quick start and `make demo` hold out and evaluate on)
CI_FACES = (
    NANUM / "NanumGothic.ttf",
    Path("/usr/share/fonts/truetype/unfonts-core/UnPilgi.ttf"),
)
# an output line that means a bug, whatever the exit code: the CLI's message for an
# uncaught exception, or Python's own traceback
BUG_LINE = re.compile(r"internal error|Traceback")


def ci_fonts_command(folder: str = "fonts") -> str:
    """What CI runs for ``make fonts``: links the CI_FACES alone into ``folder``."""
    links = " && ".join(f"ln -s {face} {folder}/{face.name}" for face in CI_FACES)
    return f"mkdir -p {folder} && {links}"


def shell_env(tmp_path: Path) -> dict[str, str]:
    """An environment in which ``hangulgan`` and ``python`` run this checkout with this
    interpreter, as they would in the activated .venv (shims in ``tmp_path/bin``). Skips
    the test when a CI face is not installed."""
    for face in CI_FACES:
        debian_font(face)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, run in (
        ("hangulgan", f'"{sys.executable}" -m hangulgan'),
        ("python", f'"{sys.executable}"'),
    ):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec {run} "$@"\n')
        shim.chmod(0o755)
    return dict(
        os.environ,
        PATH=f"{bin_dir}:{os.environ['PATH']}",
        PYTHONPATH=str(ROOT),
        OMP_NUM_THREADS="1",
    )


def run_step(argv: list[str], cwd: Path, env: dict[str, str], shown: str, where: str) -> float:
    """Run one documented command; fail the test unless it exits 0 and prints no line of
    BUG_LINE. Returns the seconds it took."""
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - started
    assert result.returncode == 0, (
        f"{where}: {shown!r} exited {result.returncode}\n{result.stdout[-2000:]}"
        f"\n{result.stderr[-3000:]}"
    )
    bugs = [line for line in (result.stdout + result.stderr).splitlines() if BUG_LINE.search(line)]
    assert not bugs, "\n".join(
        [f"{where}: {shown!r} printed", *bugs, "stderr:", result.stderr[-3000:]]
    )
    return seconds
