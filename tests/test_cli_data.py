"""The render / corpus commands: exit codes, one-line errors, summaries."""

import json

import pytest
from click.testing import CliRunner

from hangulgan.cli import main

import fontfactory


@pytest.fixture
def fonts(tmp_path):
    folder = tmp_path / "fonts"
    folder.mkdir()
    fontfactory.build_font(folder / "one.ttf", family="One")
    return folder


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_render_then_info_and_preview(fonts, tmp_path):
    out = tmp_path / "corpus"
    result = run("render", fonts, out, "--charset", "seed16", "--quiet")
    assert result.exit_code == 0, result.output
    assert "rendered 1 faces" in result.output
    info = run("corpus", "info", out)
    assert info.exit_code == 0 and "One-Regular" in info.output and "seed16" in info.output
    sheet = tmp_path / "sheet.png"
    preview = run("corpus", "preview", out, "--face", "One-Regular", "--out", sheet)
    assert preview.exit_code == 0 and sheet.stat().st_size > 0


def test_a_bad_font_is_listed_and_sets_exit_code_1(fonts, tmp_path):
    (fonts / "broken.otf").write_bytes(b"OTTO" + b"\0" * 20)
    out = tmp_path / "corpus"
    result = run("render", fonts, out, "--quiet")
    assert result.exit_code == 1
    assert "broken.otf" in result.output and "1 skipped" in result.output
    assert "One-Regular" in json.loads((out / "manifest.json").read_text())["faces"]


@pytest.mark.parametrize(
    "make_args, message",
    [
        (lambda f, t: [f, t / "file.txt"], "is a file"),
        (lambda f, t: [t / "empty", t / "c"], "no face rendered"),
        (lambda f, t: [f, t / "c", "--shard", "3/2"], "--shard 3/2"),
        (lambda f, t: [f, t / "c", "--charset", t / "missing.txt"], "missing.txt"),
        (lambda f, t: [f, t / "c", "--size", "4"], "--size 4"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(fonts, tmp_path, make_args, message):
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    result = run("render", *make_args(fonts, tmp_path), "--quiet")
    assert result.exit_code == 2, result.output
    error_lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and message in error_lines[0]


def test_older_corpus_version_is_refused(fonts, tmp_path):
    out = tmp_path / "corpus"
    run("render", fonts, out, "--charset", "seed16", "--quiet")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["version"] = 0
    (out / "manifest.json").write_text(json.dumps(manifest))
    result = run("corpus", "info", out)
    assert result.exit_code == 2 and "version 0" in result.output
