"""``--help`` never loads torch: the commands' options come from config dataclasses in
modules that import no torch, and the registry names the models without importing them."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

HEAVY = ("torch", "safetensors", "hangulgan.train.contract")


def imported_after(code: str) -> list[str]:
    """The heavy modules loaded by ``code`` in a fresh interpreter."""
    script = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import sys
        print("heavy:" + ",".join(sorted(m for m in {HEAVY!r} if m in sys.modules)))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    last = done.stdout.splitlines()[-1]
    assert last.startswith("heavy:"), done.stdout
    return [name for name in last.removeprefix("heavy:").split(",") if name]


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["train", "--help"],
        ["train", "dcgan", "--help"],
        ["train", "styled", "--help"],
        ["train", "classifier", "--help"],
        ["train", "crnn", "--help"],
        ["render", "--help"],
        ["translate", "--help"],
        ["translate", "train", "--help"],
        ["translate", "train", "pix2pix", "--help"],
        ["translate", "train", "ugatit", "--help"],
    ],
    ids=" ".join,
)
def test_help_imports_no_torch(args):
    code = f"""
        from hangulgan.cli import main
        try:
            main({args!r}, standalone_mode=False)
        except SystemExit as done:
            assert done.code in (0, None), done.code
        """
    assert imported_after(code) == []


def test_the_model_help_is_what_the_command_prints():
    from conftest import run_cli

    code, out = run_cli("train", "dcgan", "--help")
    assert code == 0 and "--latent" in out and "Train the original examples' DCGAN" in out


def test_looking_models_up_imports_none_of_them():
    code = """
        from hangulgan.train.registry import MODELS, model_entry, model_names
        for name in model_names():
            entry = model_entry(name)
            assert entry.help and entry.config_class and entry.data_config_class
        assert "dcgan" in MODELS
        loaded = sorted(m for m in sys.modules
                        if m.startswith(("hangulgan.models.", "hangulgan.translate.",
                                         "hangulgan.eval."))
                        and not m.endswith(("_config", ".config")))
        assert loaded == [], loaded
        """
    assert imported_after("import sys\n" + textwrap.dedent(code)) == []


def test_the_command_list_is_what_the_commands_themselves_say(monkeypatch):
    import click
    from click.testing import CliRunner

    from hangulgan.cli import COMMANDS, SUMMARIES, main

    ctx = click.Context(main)
    for name in COMMANDS:
        command = main.get_command(ctx, name)
        first = " ".join((command.help or "").partition("\n\n")[0].split())
        assert SUMMARIES.get(name) == first, f"cli.SUMMARIES[{name!r}] is not its help's start"
    assert set(SUMMARIES) == set(COMMANDS)
    listed = CliRunner().invoke(main, ["--help"]).output
    monkeypatch.setattr(type(main), "format_commands", click.Group.format_commands)
    assert listed == CliRunner().invoke(main, ["--help"]).output  # click's own listing
