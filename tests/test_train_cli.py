"""`hangulgan train dcgan`, `sample`, `runs list` through the CLI, bad input included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hangulgan.data.glyphset import GlyphSet

from conftest import run_cli


@pytest.fixture
def corpus(tmp_path, test_font) -> Path:
    folder = tmp_path / "corpus"
    code, out = run_cli("render", test_font, folder, "--size", "16", "--quiet")
    assert code in (0, 1), out
    return folder


FAST = ("--batch", "4", "--no-progress", "--log-every", "1", "--sample-every", "0", "--grid", "4")


def one_error_line(code: int, out: str, words: str) -> None:
    assert code == 2, out
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), out
    assert words in lines[0], out


def test_train_resume_sample_and_list(tmp_path, corpus):
    run = tmp_path / "runs" / "dcgan"
    code, out = run_cli("train", "dcgan", "--corpus", corpus, "--run", run, "--steps", "2", *FAST)
    assert code == 0, out
    assert "trained steps 0→2" in out
    assert (run / "checkpoints" / "step-00000002.safetensors").is_file()
    assert json.loads((run / "config.json").read_text())["data"]["corpus"] == str(corpus)

    code, out = run_cli("train", "dcgan", "--run", run, "--resume", "--steps", "3", "--no-progress")
    assert code == 0, out
    assert "trained steps 2→3" in out

    code, out = run_cli("sample", run, "--n", "4", "--out", tmp_path / "grid.png")
    assert code == 0, out
    assert (tmp_path / "grid.png").is_file()

    code, out = run_cli("runs", "list", tmp_path / "runs")
    assert code == 0 and "dcgan" in out and "step 3" in out, out


def test_conditional_run_writes_a_glyph_set(tmp_path, corpus):
    run = tmp_path / "cond"
    code, out = run_cli(
        "train", "dcgan", "--corpus", corpus, "--run", run, "--steps", "1", "--conditional", *FAST
    )
    assert code == 0, out
    code, out = run_cli("sample", run, "--out-set", tmp_path / "glyphs", "--text", "가나다")
    assert code == 0, out
    glyphs = GlyphSet.load(tmp_path / "glyphs")
    assert glyphs.text == "가나다" and glyphs.size == (16, 16)


def test_bad_input_gets_one_line_errors(tmp_path, corpus):
    run = tmp_path / "r"
    base = ("train", "dcgan", "--corpus", corpus, "--run", run, *FAST)
    one_error_line(*run_cli(*base, "--batch", "0"), "--batch 0")
    one_error_line(*run_cli(*base, "--steps", "-1"), "--steps -1")
    one_error_line(
        *run_cli("train", "dcgan", "--corpus", tmp_path / "nope", "--run", run, *FAST), "nope"
    )
    one_error_line(*run_cli(*base, "--faces", "NoSuchFace"), "NoSuchFace")
    (tmp_path / "other.txt").write_text("똠방각하", encoding="utf-8")
    one_error_line(*run_cli(*base, "--charset", tmp_path / "other.txt"), "select no glyph")
    assert not (run / "config.json").exists()

    code, out = run_cli(*base, "--steps", "1")
    assert code == 0, out
    one_error_line(*run_cli(*base, "--steps", "1"), "--force")
    one_error_line(
        *run_cli("train", "dcgan", "--run", run, "--resume", "--loss", "hinge"), "--loss"
    )
    one_error_line(
        *run_cli("sample", run, "--out-set", tmp_path / "g", "--text", "가"), "unconditional"
    )

    config = json.loads((run / "config.json").read_text())
    config["model"] = "pix2pix"
    (run / "config.json").write_text(json.dumps(config))
    one_error_line(*run_cli("train", "dcgan", "--run", run, "--resume"), "'pix2pix'")

    config["model"] = "dcgan"
    (run / "config.json").write_text(json.dumps(config))
    [checkpoint] = (run / "checkpoints").iterdir()
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    one_error_line(*run_cli("sample", run, "--out", tmp_path / "x.png"), "truncated")
    one_error_line(*run_cli("train", "dcgan", "--run", run, "--resume"), "truncated")


def test_corpus_of_another_version_is_refused(tmp_path, corpus):
    manifest = corpus / "manifest.json"
    data = json.loads(manifest.read_text())
    data["version"] = 99
    manifest.write_text(json.dumps(data))
    code, out = run_cli("train", "dcgan", "--corpus", corpus, "--run", tmp_path / "r", *FAST)
    one_error_line(code, out, "version")


def test_help_texts():
    for args in (["train", "dcgan", "--help"], ["sample", "--help"], ["runs", "list", "--help"]):
        code, out = run_cli(*args)
        assert code == 0 and "Usage" in out
    code, out = run_cli("train", "--help")
    assert "dcgan" in out and "torchrun" in out


def test_toml_config_with_options_overriding_it(tmp_path, corpus):
    config = tmp_path / "dcgan.toml"
    config.write_text(
        "[model]\nconditional = true\nloss = 'hinge'\n\n[train]\nsteps = 1\nbatch = 2\n",
        encoding="utf-8",
    )
    run = tmp_path / "r"
    code, out = run_cli(
        "train", "dcgan", "--corpus", corpus, "--run", run, "--config", config,
        "--batch", "4", "--no-progress", "--sample-every", "0",
    )  # fmt: skip
    assert code == 0, out
    saved = json.loads((run / "config.json").read_text())
    assert saved["model_config"]["conditional"] is True
    assert saved["model_config"]["loss"] == "hinge"
    assert saved["train"]["steps"] == 1 and saved["train"]["batch"] == 4
    config.write_text("[model]\nwidth = 3\n", encoding="utf-8")
    one_error_line(
        *run_cli("train", "dcgan", "--corpus", corpus, "--run", tmp_path / "s", "--config", config),
        "width",
    )


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_and_resume_continues(tmp_path, corpus):
    import signal
    import subprocess
    import sys
    import time

    run = tmp_path / "r"
    command = [
        sys.executable, "-c", "from hangulgan.cli import main; main()",
        "train", "dcgan", "--corpus", str(corpus), "--run", str(run), "--steps", "100000",
        "--batch", "4", "--no-progress", "--log-every", "1", "--sample-every", "0",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        metrics = run / "metrics.csv"
        while time.monotonic() < deadline:
            if metrics.is_file() and len(metrics.read_text().splitlines()) >= 3:
                break
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert "stopped by SIGINT" in err
    [(step, path)] = [(int(p.stem.split("-")[1]), p) for p in (run / "checkpoints").iterdir()]
    assert step >= 2
    code, out = run_cli(
        "train", "dcgan", "--run", run, "--resume", "--steps", str(step + 1), "--no-progress"
    )
    assert code == 0 and f"trained steps {step}→{step + 1}" in out, out


def test_a_resume_reads_the_run_config_once(tmp_path, corpus, monkeypatch):
    from hangulgan.train.config import RunConfig

    run = tmp_path / "run"
    code, out = run_cli("train", "dcgan", "--corpus", corpus, "--run", run, "--steps", "1", *FAST)
    assert code == 0, out
    load = RunConfig.load.__func__
    reads = []

    def counted(cls, run_dir, model=None):
        reads.append(Path(run_dir))
        return load(cls, run_dir, model)

    monkeypatch.setattr(RunConfig, "load", classmethod(counted))
    code, out = run_cli("train", "dcgan", "--run", run, "--resume", "--steps", "2", "--no-progress")
    assert code == 0 and "trained steps 1→2" in out, out
    assert reads == [run]


def test_a_run_keeps_its_corpus_resolved_so_it_resumes_from_any_folder(
    tmp_path, corpus, monkeypatch
):
    """`--corpus` and a charset file given relative to the working folder are stored
    absolute: a resume from another folder finds them (issue 19)."""
    (tmp_path / "syllables.txt").write_text("가나다라마바사", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    args = ("--corpus", "corpus", "--charset", "syllables.txt", "--run", "runs/r")
    code, out = run_cli("train", "dcgan", *args, "--steps", "1", *FAST)
    assert code == 0, out
    data = json.loads((tmp_path / "runs" / "r" / "config.json").read_text())["data"]
    assert data["corpus"] == str(corpus.resolve())
    assert data["charset"] == str((tmp_path / "syllables.txt").resolve())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out = run_cli("train", "dcgan", "--run", "../runs/r", "--resume", "--steps", "2")
    assert code == 0, out
    assert "trained steps 1→2" in out


def test_charset_names_and_empty_paths_are_not_resolved(tmp_path, monkeypatch):
    from hangulgan.train.options import DataConfig, resolve_paths

    monkeypatch.chdir(tmp_path)
    (tmp_path / "ksx1001").write_text("가", encoding="utf-8")  # a name, whatever lies here
    kept = resolve_paths(DataConfig(charset="ksx1001"))
    assert (kept.corpus, kept.charset) == (None, "ksx1001")
    assert resolve_paths(DataConfig(corpus="c")).corpus == str(tmp_path / "c")
    from hangulgan.eval.classifier_config import ClassifierDataConfig

    sets = resolve_paths(ClassifierDataConfig(glyph_sets=["a, b", "c"])).glyph_sets
    assert sets == [f"{tmp_path / 'a'},{tmp_path / 'b'}", str(tmp_path / "c")]
