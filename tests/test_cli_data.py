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


def _one_error_line(result):
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def test_an_augmented_render_runs_again(fonts, tmp_path):
    out = tmp_path / "c"
    for _ in range(2):
        result = run("render", fonts, out, "--augment", 1, "--charset", "seed16", "--quiet")
        assert result.exit_code == 0, result.output
    assert "1 already in" in result.output


def test_a_second_render_into_a_corpus_names_the_first(fonts, tmp_path):
    import os

    from hangulgan.io import folder_lock

    out = tmp_path / "c"
    with folder_lock(out, what="corpus"):
        result = run("render", fonts, out, "--quiet")
    assert result.exit_code == 2
    assert f"process {os.getpid()} is writing this corpus" in _one_error_line(result)
    assert not (out / "manifest.json").exists()


def test_a_full_disk_is_one_line(fonts, tmp_path, monkeypatch):
    import errno

    from hangulgan.data import corpus_manifest as corpus_mod

    out = tmp_path / "c"
    assert run("render", fonts, out, "--charset", "seed16", "--quiet").exit_code == 0
    before = (out / "manifest.json").read_text()

    def full(path, obj):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(corpus_mod, "write_json_atomic", full)
    result = run("render", fonts, out, "--charset", "seed16", "--force", "--quiet")
    assert result.exit_code == 2
    assert _one_error_line(result).endswith("manifest.json: no space left on device")
    merged = run("corpus", "merge", out, "--out", tmp_path / "m")
    assert merged.exit_code == 2
    assert _one_error_line(merged).endswith("manifest.json: no space left on device")
    assert (out / "manifest.json").read_text() == before


def _with_licence(path, text):
    from fontTools.ttLib import TTFont

    font = TTFont(str(path))
    font["name"].setName(text, 13, 3, 1, 0x409)
    font.save(str(path))
    return path


def test_info_lists_faces_by_name_with_empty_count_and_licence(tmp_path):
    folder = tmp_path / "fonts"
    folder.mkdir()
    _with_licence(
        fontfactory.build_font(folder / "a.ttf", family="Zeta"), "SIL Open Font License 1.1"
    )
    fontfactory.build_font(
        folder / "b.ttf", family="alpha", shapes={ord("가"): [(0, 0, 90, 90)]}, blank=[ord("각")]
    )
    out = tmp_path / "c"
    assert run("render", folder, out, "--charset", "seed16", "--quiet").exit_code == 0
    info = run("corpus", "info", out)
    assert info.exit_code == 0, info.output
    lines = info.output.splitlines()
    header = lines[1].split()
    assert header == ["face", "glyphs", "missing", "empty", "failed", "licence"]
    rows = [line.split(None, 5) for line in lines[2:4]]
    assert [row[0] for row in rows] == ["alpha-Regular", "Zeta-Regular"]  # by name, any case
    manifest = json.loads((out / "manifest.json").read_text())
    for row in rows:
        record = manifest["faces"][row[0]]
        assert int(row[3]) == len(record["empty"]) and int(row[4]) == 0
    assert rows[1][5] == "SIL Open Font License 1.1" and rows[0][5] == "-"
    assert int(rows[0][3]) == 1  # alpha maps 각 to an empty glyph


def test_preview_all_faces_labels_rows_and_takes_faces(tmp_path):
    import numpy as np
    from PIL import Image

    folder = tmp_path / "fonts"
    folder.mkdir()
    fontfactory.build_font(folder / "a.ttf", family="One")
    fontfactory.build_font(folder / "b.ttf", family="Two", shapes={ord("가"): [(0, 0, 90, 90)]})
    out = tmp_path / "c"
    assert run("render", folder, out, "--charset", "seed16", "--quiet").exit_code == 0
    both, one = tmp_path / "both.png", tmp_path / "one.png"
    assert (
        run("corpus", "preview", out, "--all-faces", "--text", "가", "--out", both).exit_code == 0
    )
    result = run("corpus", "preview", out, "--faces", "Two-Regular", "--text", "가", "--out", one)
    assert result.exit_code == 0, result.output
    both_px, one_px = np.asarray(Image.open(both)), np.asarray(Image.open(one))
    assert both_px.shape[0] > one_px.shape[0]  # two rows, one row
    assert both_px.shape[1] > 2 * (32 + 4)  # a label column beside the glyph
    bad = run("corpus", "preview", out, "--faces", "Three", "--out", one)
    assert bad.exit_code == 2 and "no face named 'Three'" in _one_error_line(bad)


def test_render_and_merge_refuse_a_face_folder_of_the_users(fonts, tmp_path):
    out = tmp_path / "c"
    user = out / "faces" / "One-Regular"
    user.mkdir(parents=True)
    (user / "notes.txt").write_text("mine")
    for force in ([], ["--force"]):
        result = run("render", fonts, out, "--charset", "seed16", "--quiet", *force)
        assert result.exit_code == 2, result.output
        assert f"{user}: exists, and the corpus neither lists it" in _one_error_line(result)
    good = tmp_path / "good"
    assert run("render", fonts, good, "--charset", "seed16", "--quiet").exit_code == 0
    merged = run("corpus", "merge", good, "--out", out)
    assert merged.exit_code == 2 and str(user) in _one_error_line(merged)
    assert [p.name for p in user.iterdir()] == ["notes.txt"]


STOPPED_RENDER = """
import sys
sys.path.insert(0, {tests!r})
import fontdamage
from hangulgan.data import corpus_pool
corpus_pool._worker_render = fontdamage.render_slowly  # looked up by name in the workers
from hangulgan.cli import main
main(["render", {fonts!r}, {out!r}, "--workers", "2", "--quiet"])
"""


@pytest.mark.skipif(not __import__("os").path.isdir("/proc"), reason="reads /proc")
@pytest.mark.parametrize(
    ("signum", "code", "word"), [(15, 143, "terminated"), (2, 130, "interrupted")]
)
def test_a_stopped_render_shuts_its_workers_down_and_removes_its_lock(
    fonts, tmp_path, signum, code, word
):
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    for family in ("SlowA", "SlowB"):
        fontfactory.build_font(
            fonts / f"{family}.ttf", family=family, shapes={0xAC00: [(0, 0, 9, len(family) * 40)]}
        )
    out = tmp_path / "corpus"
    code_text = STOPPED_RENDER.format(
        tests=str(Path(__file__).parent), fonts=str(fonts), out=str(out)
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    render = subprocess.Popen(
        [sys.executable, "-c", code_text], stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the fast face is done, the slow ones under way
            if (out / "faces" / "One-Regular").is_dir():
                break
            time.sleep(0.05)
        workers = [
            int(pid) for pid in os.listdir("/proc") if pid.isdigit() and _parent(pid) == render.pid
        ]
        assert render.poll() is None and workers
        render.send_signal(signum)
        _, stderr = render.communicate(timeout=60)
    finally:
        render.kill()
    assert render.returncode == code, stderr
    assert stderr.strip().splitlines()[-1] == word, stderr
    assert "leaked" not in stderr and "Traceback" not in stderr, stderr
    assert not (out / ".lock").exists()
    deadline = time.monotonic() + 10  # the resource tracker ends just after its parent
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if _running(pid)]
    assert "One-Regular" in json.loads((out / "manifest.json").read_text())["faces"]


def _stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def _parent(pid):
    stat = _stat(pid)
    return int(stat[1]) if stat else None


def _running(pid):
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"  # a zombie has ended


def test_a_font_with_a_garbled_hhea_renders_with_a_warning_and_sane_metrics(tmp_path):
    from hangulgan.data.corpus import Corpus

    import fontdamage

    fonts = tmp_path / "fonts"
    fonts.mkdir()
    font = fontdamage.set_fields(
        fontfactory.build_font(fonts / "garbled.ttf", family="Garbled"),
        [("hhea", 6, ">h", 16876), ("hhea", 34, ">H", 60046)],
    )
    out = tmp_path / "c"
    result = run("render", fonts, out, "--charset", "seed16", "--quiet")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2 and all(f"{font.resolve()}: " in line for line in warnings)
    geometry = Corpus.open(out).face("Garbled-Regular").meta["geometry"]
    assert geometry["hhea"] == [880, -120, 0]  # what export writes: not +16876


@pytest.mark.parametrize("reader", ["closed at once", "head -n 3"])
def test_a_closed_output_pipe_ends_the_command_quietly(fonts, tmp_path, reader):
    """`corpus info corpus/ | head -n 3` is ordinary shell use: no 'internal error', no
    exit 70; the command stops as `git log | head` does (141: 128 + SIGPIPE)."""
    import os
    import subprocess
    import sys

    out = tmp_path / "c"
    assert run("render", fonts, out, "--charset", "seed16", "--quiet").exit_code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    (record,) = manifest["faces"].values()
    manifest["faces"] = {f"Face{i:05d}": record for i in range(5000)}  # ~400 KB of lines
    (out / "manifest.json").write_text(json.dumps(manifest))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "hangulgan", "corpus", "info", str(out)]
    if reader == "closed at once":
        info = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        info.stdout.close()
        stderr = info.stderr.read()
        status = info.wait(timeout=60)
    else:
        shell = subprocess.run(
            ["bash", "-c", 'set -o pipefail; "$@" | head -n 3', "bash", *command],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert len(shell.stdout.splitlines()) == 3
        stderr, status = shell.stderr, shell.returncode
    assert stderr == "", stderr
    assert status in (0, 141)
