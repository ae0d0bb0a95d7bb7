"""Damaged checkpoints, configs and run folders: clear one-line errors, a fall-back to the
checkpoint kept before a damaged one, never a silent fresh start (issue 13)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from safetensors import safe_open
from safetensors.torch import save_file
from test_train_trainer import losses, quick, small_model, tiny_dataset, train_dcgan

from hangulgan.cli import main
from hangulgan.data.glyphset import GlyphSet
from hangulgan.errors import CheckpointError, HangulganError, RunError
from hangulgan.io import temp_path
from hangulgan.train import checkpoint as ckpt
from hangulgan.train.runs import _syllables, open_run, sample_images, write_glyphset, write_grid


def rewrite(path: Path, tensors=None, state=None) -> None:
    """Write checkpoint ``path`` again with some tensors or JSON state changed."""
    with safe_open(str(path), framework="pt") as handle:
        meta = handle.metadata()
        saved = {k: handle.get_tensor(k) for k in handle.keys()}
    saved_state = json.loads(meta["state"])
    saved.update(tensors or {})
    saved_state.update(state or {})
    meta["state"] = json.dumps(saved_state)
    save_file(saved, str(path), metadata=meta)


@pytest.fixture
def run(tmp_path) -> Path:
    folder = tmp_path / "r"
    train_dcgan(small_model(), quick(steps=1), tiny_dataset(), folder)
    return folder


def resume(folder: Path, steps: int = 2):
    return train_dcgan(small_model(), quick(steps=steps), tiny_dataset(), folder, resume=True)


@pytest.mark.parametrize(
    "state",
    [
        {"step": "abc"},
        {"step": -3},
        {"step": True},
        {"model": 5},
        {"optimizers": []},
        {"extra": {"sampler": {"epoch": 0, "position": "x", "size": 24}}},
        {"rng": {"numpy": "no"}},
    ],
)
def test_checkpoint_metadata_of_wrong_types_is_a_clear_error(run, state):
    rewrite(ckpt.latest_checkpoint(run), state=state)
    with pytest.raises(CheckpointError, match="damaged checkpoint metadata"):
        resume(run)
    with pytest.raises(CheckpointError, match="damaged checkpoint metadata"):
        open_run(run)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_weights_that_are_not_finite_are_refused(run, value):
    path = ckpt.latest_checkpoint(run)
    weight = ckpt.read_checkpoint(path).tensors["net.G.fc.0.weight"].clone()
    weight[0, 0] = value
    rewrite(path, tensors={"net.G.fc.0.weight": weight})
    with pytest.raises(CheckpointError, match="NaN or infinite"):
        open_run(run)
    with pytest.raises(CheckpointError, match="NaN or infinite"):
        resume(run)


SHAPE_SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from hangulgan.errors import CheckpointError
    from hangulgan.train import checkpoint as ckpt
    from test_train_trainer import quick, small_model, tiny_dataset, train_dcgan
    from test_train_checkpoints import rewrite
    import torch

    run = Path(sys.argv[1])
    train_dcgan(small_model(), quick(steps=1), tiny_dataset(), run)
    path = ckpt.latest_checkpoint(run)
    saved = ckpt.read_checkpoint(path).tensors
    rewrite(path, tensors={
        "opt.D.0.exp_avg": saved["opt.D.0.exp_avg"][:1].contiguous(),
        "opt.D.0.exp_avg_sq": saved["opt.D.0.exp_avg_sq"][:1].contiguous(),
    })
    try:
        train_dcgan(small_model(), quick(steps=3), tiny_dataset(), run, resume=True)
    except CheckpointError as err:
        print("refused:", err)
    """
)


def test_optimizer_state_of_the_wrong_shape_is_refused_before_loading(tmp_path):
    """Loaded as it is, fused Adam writes out of bounds and kills the process (SIGSEGV):
    run in a child process so that a crash fails this test, not the suite."""
    script = tmp_path / "shape.py"
    script.write_text(SHAPE_SCRIPT)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "r"), str(Path(__file__).parent)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refused:" in done.stdout and "optimizer state of 'D' does not fit" in done.stdout
    assert "opt.D.0.exp_avg" in done.stdout


def test_damaged_newest_checkpoint_falls_back_to_the_one_kept_before(tmp_path, capfd):
    data = tiny_dataset()
    config = {"checkpoint_every": 2, "keep_checkpoints": 2}
    train_dcgan(small_model(), quick(steps=6, **config), data, tmp_path / "straight")
    train_dcgan(small_model(), quick(steps=4, **config), data, tmp_path / "cut")
    steps = [step for step, _ in ckpt.list_checkpoints(tmp_path / "cut")]
    assert steps == [2, 4]
    newest = ckpt.checkpoint_path(tmp_path / "cut", 4)
    newest.write_bytes(newest.read_bytes()[:5000])
    capfd.readouterr()
    result = train_dcgan(
        small_model(), quick(steps=6, **config), data, tmp_path / "cut", resume=True
    )
    err = capfd.readouterr().err
    assert "step-00000004.safetensors: unreadable or truncated" in err
    assert "resuming from the checkpoint before it" in err and "step-00000002" in err
    assert (result.start_step, result.step) == (2, 6)
    assert losses(tmp_path / "cut") == losses(tmp_path / "straight")


def test_resume_without_a_loadable_checkpoint_never_starts_afresh(run):
    [(_, path)] = ckpt.list_checkpoints(run)
    path.write_bytes(b"\0" * 100)
    with pytest.raises(CheckpointError, match="truncated"):
        resume(run)
    path.unlink()
    with pytest.raises(CheckpointError, match="no checkpoint to resume from"):
        resume(run)
    assert not ckpt.list_checkpoints(run)


def test_stale_checkpoint_temporaries_go_and_checkpoints_get_ordinary_permissions(run):
    # what a kill during a checkpoint write leaves: a temporary named by a process now gone
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], text=True,
                          capture_output=True, check=True).stdout.strip()  # fmt: skip
    named = temp_path(ckpt.checkpoint_path(run, 2))
    stale = named.with_name(named.name.replace(f"-{os.getpid()}-", f"-{dead}-"))
    stale.write_bytes(b"\0" * 4096)
    # files a user keeps there under names like the old temporaries' are never touched
    users = [run / "checkpoints" / name for name in (".step-5.tmp", ".step-00000002.x.tmp")]
    for path in users:
        path.write_text("mine")
    resume(run)
    assert not stale.exists()
    assert all(path.read_text() == "mine" for path in users)
    umask = os.umask(0)
    os.umask(umask)
    for _, path in ckpt.list_checkpoints(run):
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert (run / "config.json").stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize(
    ("table", "key", "value", "words"),
    [
        ("train", "batch", "32", "batch must be a whole number"),
        ("train", "steps", 2.5, "steps must be a whole number"),
        ("train", "ema", "yes", "ema must be a boolean"),
        ("data", "charset", 123, "charset must be a string"),
        ("data", "faces", "NanumGothic", "faces must be a list"),
        ("model_config", "latent_dim", "100", "latent_dim must be a whole number"),
        ("model_config", "lr", "fast", "lr must be a number"),
    ],
)
def test_config_values_of_the_wrong_type_are_clear_errors(run, table, key, value, words):
    path = run / "config.json"
    config = json.loads(path.read_text())
    config[table][key] = value
    path.write_text(json.dumps(config))
    attempts = [lambda: open_run(run)]
    if table != "model_config":  # train() is handed the model config; the CLI reads it
        attempts.append(lambda: resume(run))
    for attempt in attempts:
        with pytest.raises(HangulganError, match=words):
            attempt()


def test_a_config_without_its_train_table_is_refused(run):
    path = run / "config.json"
    config = json.loads(path.read_text())
    del config["train"]
    path.write_text(json.dumps(config))
    with pytest.raises(RunError, match="no 'train' entry"):
        resume(run)
    code, out = cli("train", "dcgan", "--run", run, "--resume")
    assert code == 2 and out.startswith("error: ") and "'train'" in out
    config["train"] = "batch 32"
    path.write_text(json.dumps(config))
    with pytest.raises(RunError, match="'train' must be a table"):
        resume(run)


def cli(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def test_resume_to_a_step_already_reached_says_there_is_nothing_to_do(tmp_path, test_font):
    corpus, run = tmp_path / "corpus", tmp_path / "r"
    code, out = cli("render", test_font, corpus, "--size", "16", "--quiet")
    assert code in (0, 1), out
    fast = ("--batch", "2", "--no-progress", "--sample-every", "0", "--grid", "2")
    code, out = cli("train", "dcgan", "--corpus", corpus, "--run", run, "--steps", "2", *fast)
    assert code == 0, out
    before = ckpt.latest_checkpoint(run).read_bytes()
    rows = (run / "metrics.csv").read_text()
    for steps in ("2", "1"):
        code, out = cli("train", "dcgan", "--run", run, "--resume", "--steps", steps)
        assert code == 0, out
        assert "nothing to do" in out and "at step 2" in out and "img/s" not in out
    assert ckpt.latest_checkpoint(run).read_bytes() == before
    assert (run / "metrics.csv").read_text() == rows
    assert json.loads((run / "config.json").read_text())["train"]["steps"] == 2


def test_sample_text_keeps_the_typed_order_and_repeats(tmp_path):
    run = tmp_path / "r"
    train_dcgan(small_model(conditional=True), quick(steps=1), tiny_dataset(), run)
    typed = "다람쥐 헌 쳇바퀴에 타고파 다람쥐"
    asked = _syllables(typed, None)
    assert "".join(map(chr, asked)) == typed.replace(" ", "")
    loaded = open_run(run)
    expected = sample_images(loaded, len(asked), syllables=asked)
    from hangulgan.train.grid import save_grid

    save_grid(expected, tmp_path / "expected.png")
    write_grid(run, tmp_path / "grid.png", text=typed)
    assert (tmp_path / "grid.png").read_bytes() == (tmp_path / "expected.png").read_bytes()
    # a glyph set holds each syllable once, in the order typed
    glyphs = write_glyphset(run, tmp_path / "set", text="다람쥐다")
    assert glyphs.text == "다람쥐"


def test_sample_out_set_force_replaces_only_the_glyph_set(tmp_path):
    run = tmp_path / "r"
    train_dcgan(small_model(conditional=True), quick(steps=1), tiny_dataset(), run)
    out = tmp_path / "glyphs"
    code, text = cli("sample", run, "--out-set", out, "--text", "가나")
    assert code == 0, text
    (out / "notes.txt").write_text("my notes", encoding="utf-8")
    (out / "drafts").mkdir()
    code, text = cli("sample", run, "--out-set", out, "--text", "다", "--force")
    assert code == 0, text
    assert (out / "notes.txt").read_text(encoding="utf-8") == "my notes"
    assert (out / "drafts").is_dir()
    assert GlyphSet.load(out).text == "다"
    code, text = cli("sample", run, "--out-set", out, "--text", "라")
    assert code == 2 and "already exists" in text
    assert GlyphSet.load(out).text == "다"


@pytest.mark.slow
def test_a_second_trainer_in_the_same_run_folder_is_refused(test_font, tmp_path):
    """The second writer gets a clear error naming the holder; nothing of the run changes."""
    import signal
    import time

    corpus = tmp_path / "corpus"
    code, out = cli("render", test_font, corpus, "--size", "16", "--quiet")
    assert code in (0, 1), out
    busy = tmp_path / "busy"
    command = [
        sys.executable, "-c", "from hangulgan.cli import main; main()",
        "train", "dcgan", "--corpus", str(corpus), "--run", str(busy), "--steps", "100000",
        "--batch", "2", "--no-progress", "--log-every", "1", "--sample-every", "0",
        "--checkpoint-every", "0", "--threads", "1",
    ]  # fmt: skip
    holder = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (busy / "metrics.csv").is_file():
            time.sleep(0.2)
        assert (busy / "metrics.csv").is_file(), holder.stderr.read() if holder.poll() else ""
        config = (busy / "config.json").read_bytes()
        for args in (("--resume",), ("--corpus", corpus, "--force")):
            code, out = cli("train", "dcgan", "--run", busy, *args, "--steps", "5")
            assert code == 2, out
            assert out.startswith("error: ") and f"process {holder.pid} is writing this run" in out
        assert (busy / "config.json").read_bytes() == config
    finally:
        holder.send_signal(signal.SIGINT)
        holder.communicate(timeout=120)
    assert holder.returncode == 130  # it finished on its own terms, with a checkpoint
    code, out = cli("train", "dcgan", "--run", busy, "--resume", "--steps", "1")
    assert code == 0 and "nothing to do" in out, out


def test_a_toml_value_outside_its_choices_names_them(tmp_path):
    from hangulgan.errors import ConfigError
    from hangulgan.models.dcgan_config import DCGANConfig
    from hangulgan.train.options import compose

    with pytest.raises(ConfigError, match=r"x.toml: \[model\]: loss 'wasserstein': choose one of"):
        compose(DCGANConfig, {"loss": "wasserstein"}, {}, "x.toml: [model]")
    assert compose(DCGANConfig, {"loss": "hinge"}, {"latent_dim": 8}, "x").latent_dim == 8


def test_resume_merge_lives_in_the_library(run):
    from hangulgan.errors import ConfigError
    from hangulgan.models.dcgan import DCGAN
    from hangulgan.train.config import RunConfig, merge_resume

    saved = RunConfig.load(run, model="dcgan")
    merged = merge_resume(saved, DCGAN, train={"steps": 9, "log_every": 3})
    assert (merged.train.steps, merged.train.log_every, merged.train.batch) == (9, 3, 8)
    assert saved.train.steps == 1  # the saved config is not touched
    assert merge_resume(saved, DCGAN, train={"epochs": 2.0}).train.steps is None
    with pytest.raises(ConfigError, match="drop --latent, --charset, --batch, --config"):
        merge_resume(
            saved,
            DCGAN,
            train={"batch": 4},
            model={"latent_dim": 8},
            data={"charset": "seed16"},
            config_file=True,
        )
