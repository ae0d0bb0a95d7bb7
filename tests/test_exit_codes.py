"""Exit codes that cannot hide a crash: 0 done, 1 input skipped, 2 error, 70 a bug."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from hangulgan.cli import EXIT_BUG, EXIT_ERROR, EXIT_SKIPPED, main
from hangulgan.data.corpus import Corpus

ROOT = Path(__file__).resolve().parents[1]

# A bug planted where `corpus info` calls the library: an exception no code expects.
PLANT_BUG = (
    "from hangulgan.data.corpus import Corpus\n"
    "def broken(cls, folder):\n"
    "    raise ZeroDivisionError('planted bug')\n"
    "Corpus.open = classmethod(broken)\n"
    "from hangulgan.cli import main\n"
    "main()\n"
)


def run_planted_bug(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path))
    return subprocess.run(
        [sys.executable, "-c", PLANT_BUG, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_exit_codes_are_distinct():
    assert len({0, EXIT_SKIPPED, EXIT_ERROR, EXIT_BUG}) == 4


def test_unexpected_exception_is_reported_as_a_bug_with_a_logged_traceback(tmp_path):
    result = run_planted_bug(tmp_path, "corpus", "info", str(tmp_path / "c"))
    assert result.returncode == EXIT_BUG, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # one line, no traceback on the terminal
    assert "a bug in hangulgan" in lines[0] and "ZeroDivisionError: planted bug" in lines[0]
    log = Path(re.search(r"traceback in (\S+\.log)", lines[0]).group(1))
    assert log.parent == tmp_path
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "planted bug" in text


def test_debug_flag_shows_the_traceback(tmp_path):
    result = run_planted_bug(tmp_path, "--debug", "corpus", "info", str(tmp_path / "c"))
    assert result.returncode == EXIT_BUG, result.stderr
    assert "Traceback (most recent call last)" in result.stderr
    assert "in broken" in result.stderr  # the frame that raised
    assert result.stderr.strip().splitlines()[-1].startswith("internal error (a bug")
    assert not list(tmp_path.glob("hangulgan-crash-*.log"))


def test_user_errors_keep_exit_2_and_one_line(tmp_path):
    result = CliRunner().invoke(main, ["corpus", "info", str(tmp_path / "missing")])
    assert result.exit_code == EXIT_ERROR, result.output
    assert result.output.strip().startswith("error: ") and len(result.output.splitlines()) == 1


def test_out_of_memory_is_an_error_not_a_bug(tmp_path, monkeypatch):
    def no_memory(cls, folder):
        raise MemoryError

    monkeypatch.setattr(Corpus, "open", classmethod(no_memory))
    result = CliRunner().invoke(main, ["corpus", "info", str(tmp_path)])
    assert result.exit_code == EXIT_ERROR
    assert result.output.startswith("error: out of memory")


def test_ctrl_c_is_not_the_skip_code(tmp_path, monkeypatch):
    def interrupted(cls, folder):
        raise KeyboardInterrupt

    monkeypatch.setattr(Corpus, "open", classmethod(interrupted))
    result = CliRunner().invoke(main, ["corpus", "info", str(tmp_path)])
    assert result.exit_code == 130


def test_skipped_input_exits_1(tmp_path, test_font):
    broken = tmp_path / "fonts" / "broken.ttf"
    broken.parent.mkdir()
    broken.write_bytes(b"not a font at all")
    (tmp_path / "fonts" / "good.ttf").write_bytes(test_font.read_bytes())
    result = CliRunner().invoke(
        main, ["render", str(tmp_path / "fonts"), str(tmp_path / "c"), "--size", "16", "--quiet"]
    )
    assert result.exit_code == EXIT_SKIPPED, result.output


def makefile_guards() -> list[str]:
    """The `|| test ...` guards with which the Makefile lets a command's exit code pass."""
    text = (ROOT / "Makefile").read_text()
    return [m.replace("$$", "$") for m in re.findall(r"\|\| (test [^\n;&|]+)", text)]


@pytest.mark.parametrize("code,accepted", [(1, True), (2, False), (EXIT_BUG, False), (139, False)])
def test_makefile_guards_accept_only_the_skip_code(code, accepted):
    guards = makefile_guards()
    assert guards, "the demo's render line has a guard for exit code 1"
    for guard in guards:
        result = subprocess.run(["sh", "-c", f"(exit {code}) || {guard}"])
        assert (result.returncode == 0) == accepted, (guard, code)


def test_crash_log_goes_to_the_temp_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def broken(cls, folder):
        raise ValueError("first line\nsecond line")

    monkeypatch.setattr(Corpus, "open", classmethod(broken))
    result = CliRunner().invoke(main, ["corpus", "info", str(tmp_path)])
    assert result.exit_code == EXIT_BUG
    # a multi-line message still makes one line
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "ValueError: first line" in result.output
    assert len(list(tmp_path.glob("hangulgan-crash-*.log"))) == 1
