"""``make demo`` runs without a bug: the commands of the Makefile's ``demo`` recipe, parsed
from the Makefile itself (so that the test follows every change to the recipe), run in a
temp folder on a CI-sized setup, as tests/test_readme.py runs the documentation.

The setup: ``fonts/`` holds two Debian faces instead of every face of ``make fonts``, the
``install`` prerequisite is this interpreter, and ``$(VENV)/bin/hangulgan`` is this
interpreter's ``hangulgan`` on this checkout. The commands that would take minutes here are
cut short by arguments appended to them, listed in ``CI_CHANGES``; a pipe into ``head``
closes at once (``CI_REPLACED``: on the small corpus it would not close early); every other
command runs as written. A change that matches no command of the recipe, or a prerequisite
the test does not know, fails the test, so that neither can rot silently.

Every command must exit as make expects (0, after the recipe's own ``|| test $? -eq 1``),
no command may print a line with "internal error" or "Traceback" (issue 19: ``corpus info
| head`` printed a BrokenPipeError as an internal error), and the demo's fonts must exist
at the end.
"""

from __future__ import annotations

import re
import shlex

import pytest

from hangulgan import hangul

from conftest import ROOT, ci_fonts_command, run_step, shell_env

MAKEFILE = ROOT / "Makefile"
TARGET = "demo"
# what the demo promises to leave behind (its closing lines name them)
DEMO_FONTS = (
    "out/NanumGothicLight-Complete.ttf",
    "out/UnPilgi-Draft.ttf",
    "out/mix/Myeongjo-Pen.ttf",
)
# the syllables CI's `complete` adds: outside KS X 1001, so NanumGothicLight lacks them
CI_CHARSET = "ci-charset.txt"

# prerequisite of the demo target → what CI runs for it (None: nothing to run)
PREREQUISITES = {
    "install": None,  # this interpreter, with this checkout on its path, is the install
    "fonts": ci_fonts_command(),
}

# command prefix → (arguments CI appends to it, why: the suite runs on 2 cores)
CI_CHANGES = {
    "hangulgan render fonts/ corpus/": ("--charset ksx1001", "renders KS X 1001 only"),
    "hangulgan complete": (
        f"--charset {CI_CHARSET} --finetune-steps 3",
        "fine-tunes 3 steps instead of 200 and adds 16 syllables outside KS X 1001 instead "
        "of 8,822 (seed16 lies inside KS X 1001: complete would add nothing, write no font)",
    ),
    "hangulgan generate --refs": (
        "--charset seed16 --adapt-steps 5",
        "adapts 5 steps instead of 100 and draws the 16 syllables of seed16, not 11,172",
    ),
    "hangulgan generate --mix": (
        "--charset seed16",
        "draws the 16 syllables of seed16, not 11,172",
    ),
}

# a part of a command (a regular expression) → (what CI runs instead, why)
CI_REPLACED = {
    r"\| head -n \d+$": (
        "| head -n 0",
        "CI's corpus of 2 faces gives fewer lines than head reads, so the pipe would not close "
        "early; head -n 0 closes it at once, as head does on the full corpus (issue 19: a "
        "BrokenPipeError there was reported as an internal error)",
    ),
}


def make_variables(text: str) -> dict[str, str]:
    """The Makefile's variable assignments (``NAME := value``, ``?=`` or ``=``), unexpanded."""
    pattern = r"^([A-Za-z_]\w*)[ \t]*(?::=|\?=|=)[ \t]*(.*?)[ \t]*$"
    return dict(re.findall(pattern, text, re.M))


def expand(text: str, variables: dict[str, str]) -> str:
    """``text`` as make passes it to the shell: ``$(NAME)`` expanded (recursively), ``$$`` → $."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        assert name in variables, f"{MAKEFILE.name}: $({name}) is assigned nowhere"
        return expand(variables[name], variables)

    return re.sub(r"\$\$|\$\((\w+)\)", one, text)


def recipe(text: str, target: str) -> tuple[list[str], list[str]]:
    """``target``'s prerequisites and recipe lines, each line as the shell gets it: the
    variables expanded, ``\\``-continued lines joined, a leading ``@`` dropped, and
    ``$(VENV)/bin/`` dropped, so that ``hangulgan`` and ``python`` are found on PATH."""
    rule = re.search(rf"^{re.escape(target)}:([^=\n]*)\n((?:\t.*\n)*)", text, re.M)
    assert rule, f"{MAKEFILE.name}: no {target!r} target"
    variables = make_variables(text)
    venv_bin = expand("$(VENV)/bin/", variables)
    # make drops the tab that starts a continued line; the shell drops the backslash-newline
    body = re.sub(r"\\\n\t", "", rule.group(2))
    lines = []
    for line in body.splitlines():
        line = expand(line.removeprefix("\t").lstrip("@"), variables).strip()
        if line:
            lines.append(line.replace(venv_bin, ""))
    return rule.group(1).split(), lines


def with_arguments(command: str, arguments: str) -> str:
    """``command`` with ``arguments`` added to its first simple command, before any ``|``,
    ``||``, ``&&`` or ``;`` that follows it."""
    end = re.search(r"\s(?:\|\|?|&&|;)\s", command)
    if not end:
        return f"{command} {arguments}"
    return f"{command[: end.start()]} {arguments}{command[end.start() :]}"


def ci_version(command: str) -> str:
    """The command as CI runs it (see CI_CHANGES and CI_REPLACED)."""
    prefix = next((p for p in CI_CHANGES if (command + " ").startswith(p + " ")), None)
    if prefix:
        command = with_arguments(command, CI_CHANGES[prefix][0])
    for pattern, (replacement, _why) in CI_REPLACED.items():
        command = re.sub(pattern, replacement, command)
    return command


def demo_recipe() -> tuple[list[str], list[str]]:
    """The demo target's prerequisites and command lines, read from the Makefile."""
    return recipe(MAKEFILE.read_text(encoding="utf-8"), TARGET)


def outputs(commands: list[str]) -> list[str]:
    """What the commands write: the value of each one's ``--out``."""
    words = [shlex.split(command) for command in commands]
    return [w[w.index("--out") + 1] for w in words if "--out" in w]


def test_makefile_parsing_expands_like_make():
    text = (
        "VENV := .v\nA := x\nB ?= $(A)/y\nall: a b\n"
        "\t@$(VENV)/bin/hg $(B)/z --n \\\n\t    $(A) || test $$? -eq 1\n\n"
    )
    assert make_variables(text) == {"VENV": ".v", "A": "x", "B": "$(A)/y"}
    assert recipe(text, "all") == (["a", "b"], ["hg x/y/z --n     x || test $? -eq 1"])
    with pytest.raises(AssertionError, match=r"\$\(C\) is assigned nowhere"):
        expand("$(C)", {})


def test_ci_arguments_go_to_the_first_command():
    assert with_arguments("a --x || test $? -eq 1", "--y") == "a --x --y || test $? -eq 1"
    assert with_arguments("a x | head -n 3", "--y") == "a x --y | head -n 3"
    assert with_arguments('a --f "A B"', "--y") == 'a --f "A B" --y'


def test_every_ci_change_and_prerequisite_is_in_the_demo():
    prerequisites, commands = demo_recipe()
    assert set(prerequisites) <= set(PREREQUISITES), f"new prerequisite of {TARGET}"
    for prefix in CI_CHANGES:
        assert any((c + " ").startswith(prefix + " ") for c in commands), f"{prefix!r}: unused"
    for pattern in CI_REPLACED:
        assert any(re.search(pattern, c) for c in commands), f"{pattern!r}: unused"
    assert commands and not any("$(" in c or ".venv/" in c for c in commands)


@pytest.mark.slow
def test_demo_runs_without_a_bug(tmp_path):
    env = shell_env(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    extra = [cp for cp in hangul.all_syllables() if cp not in set(hangul.ksx1001_syllables())]
    (work / CI_CHARSET).write_text("".join(map(chr, extra[:16])), encoding="utf-8")
    prerequisites, commands = demo_recipe()
    steps = [PREREQUISITES[p] for p in prerequisites if PREREQUISITES[p]]
    steps += [ci_version(command) for command in commands]
    ran = []
    for step in steps:
        # /bin/sh, as make runs a recipe line, one shell per line
        seconds = run_step(["/bin/sh", "-c", step], work, env, step, f"{MAKEFILE.name} {TARGET}")
        ran.append(f"{seconds:5.1f} s  {step}")
    print("\nran:", *ran, sep="\n  ")
    for path in (*DEMO_FONTS, *outputs(commands)):
        assert (work / path).exists(), f"make {TARGET} left no {path}"
    # complete did add CI's syllables (with none to add it would write no font at all)
    from fontTools.ttLib import TTFont

    cmap = TTFont(work / DEMO_FONTS[0]).getBestCmap()
    assert all(cp in cmap for cp in extra[:16])


def test_demo_outputs_are_named_by_the_recipe():
    assert set(DEMO_FONTS) <= set(outputs(demo_recipe()[1]))
