"""Shared test helpers: small fonts built with fontTools, the Debian fonts when present, and
the command line run in-process."""

from __future__ import annotations

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
