"""The documentation's code runs: every ``sh`` and ``python`` block of README.md and then of
docs/*.md (in the order of ``DOCS``), in one temp folder, so a page may use what an
earlier one made (the README's corpus, training.md's runs).

The corpus is small (two Debian faces instead of every face of ``make fonts``) and
training is cut to a few steps; those are the only changes, listed in ``CI_CHANGES``.
Commands that cannot run here are listed in ``NOT_ON_CI`` with the reason. A command
that is in neither list runs as written; a list entry that matches no command fails the
test, and so does a page of docs/ missing from ``DOCS``, so neither the pages nor the
lists can rot silently. Long training runs that CI does not repeat are ``text`` blocks
or prose. Every relative link of the pages must lead to a file, and to a heading there
when it names one.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from dataclasses import dataclass

import pytest

import hangulgan

from conftest import ROOT, ci_fonts_command, run_step, shell_env

README = ROOT / "README.md"
# docs/*.md, in the order their blocks run (after the README's)
DOCS = (
    "corpus.md",
    "training.md",
    "fonts.md",
    "handwriting.md",
    "evaluation.md",
    "results.md",
    "ocr.md",
    "translate.md",
    "speed.md",
    "architecture.md",
)
PAGES = (README, *(ROOT / "docs" / name for name in DOCS))

# command prefix → why it cannot run in a test
NOT_ON_CI = {
    "make demo": "runs the whole pipeline with installation: CI runs `make demo` itself",
    "make test": "would run this test suite from inside itself",
    "torchrun": "multi-process DDP training (tested by tests/test_train_ddp.py)",
    "mkdir -p ~/.local/share/fonts": "installs a font into the user's home folder",
    "hangulgan train classifier --corpus corpus/ --run runs/content-classifier --holdout-faces "
    "default": "holds out nine named faces of the full corpus; CI's corpus has two",
    "hangulgan classifier-export runs/content-classifier": "exports the run above",
    "hangulgan train styled --corpus corpus/ --run runs/styled32 ": "holds out ten faces of "
    "the full corpus; CI's corpus has two (`train styled` runs in tests/test_styled.py)",
    "hangulgan train styled --corpus corpus/ --run runs/styled32-content": "continues the run "
    "above with the content critic trained before it",
    "hangulgan train classifier --corpus corpus/ --run runs/critic": "holds out ten faces "
    "of the full corpus (the styled run's content critic); CI's corpus has two",
    "hangulgan classifier-export runs/critic": "exports the critic above",
    "hangulgan styled-export runs/styled32": "exports the run above",
    "hangulgan generate runs/styled32": "draws with the run above",
    "hangulgan from-scan page1.jpg --font": "needs a photo of a filled-in sheet: "
    "docs/handwriting.md makes one (synthetic) and reads it",
}

# command prefix → what CI runs instead, and why (time: the suite runs on 2 cores)
CI_CHANGES = {
    "make fonts": "links NanumGothic and UnPilgi alone into fonts/, not every Korean face",
    "hangulgan render fonts/ corpus/ ": "renders KS X 1001 only (--charset ksx1001 appended)",
    "hangulgan render fonts/ corpus-aug/": "augments KS X 1001 only (--charset ksx1001 appended)",
    "hangulgan train": "stops after a few steps (--steps appended; the last --steps wins)",
    "hangulgan sample runs/cond --charset ksx1001 --out-set": "draws the 16 syllables of "
    "--charset seed16 (appended), so export-ttf traces 16 glyphs, not 2,350",
    "hangulgan generate": "draws the 16 syllables of --charset seed16 (appended), so "
    "export-ttf traces 16 glyphs, not 11,172; with --adapt, adapts 5 steps, not 100",
    "hangulgan complete": "fine-tunes 3 steps instead of 200 (--finetune-steps 3 appended)",
    "hangulgan template --out sheet.pdf": "--force appended: README.md and "
    "docs/handwriting.md print the same sheet in the one folder, and the second would refuse "
    "to replace the first's",
    "hangulgan from-scan page1.jpg --out MyHand/ --font": "adapts 5 steps and draws the 16 "
    "syllables of seed16 (--charset seed16 --adapt-steps 5 appended), not 100 and 11,172",
}


@dataclass
class Block:
    language: str
    text: str
    page: str  # README.md or docs/NAME.md
    line: int  # where the block starts in it

    def commands(self) -> list[str]:
        """Shell commands, with backslash continuations joined and comments dropped."""
        joined = re.sub(r"\\\n\s*", "", self.text)
        out = []
        for line in joined.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                out.append(line)
        return out


def readme_blocks() -> list[Block]:
    """The sh and python blocks of README.md, then of each page of ``DOCS``, in order."""
    blocks = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        name = str(page.relative_to(ROOT))
        for match in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M):
            if match.group(1) in ("sh", "bash", "python"):
                line = text[: match.start()].count("\n") + 1
                blocks.append(Block(match.group(1), match.group(2), name, line))
    return blocks


def heading_anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces → -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def strip_comment(command: str) -> str:
    """The command without a trailing ``# comment`` (a ``#`` after a space, outside quotes)."""
    quote = None
    for i, char in enumerate(command):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or command[i - 1].isspace()):
            return command[:i].rstrip()
    return command


def matching(table: dict[str, str], command: str) -> str | None:
    return next((prefix for prefix in table if command.startswith(prefix)), None)


def ci_version(command: str, train_steps: dict[str, int]) -> str:
    """The command as CI runs it (see CI_CHANGES)."""
    change = matching(CI_CHANGES, command + " ")
    if change == "make fonts":
        return ci_fonts_command()
    if change and change.startswith("hangulgan render"):
        return f"{command} --charset ksx1001"
    if change == "hangulgan train":
        run = re.search(r"--run (\S+)", command).group(1)
        train_steps[run] = train_steps.get(run, 0) + 2
        return f"{command} --steps {train_steps[run]} --no-progress"
    if change and change.startswith("hangulgan sample"):
        return f"{command} --charset seed16"
    if change == "hangulgan generate":
        adapt = " --adapt-steps 5" if " --adapt " in f"{command} " else ""
        return f"{command} --charset seed16{adapt}"
    if change and change.startswith("hangulgan template"):
        return f"{command} --force"
    if change == "hangulgan complete":
        return f"{command} --finetune-steps 3"
    if change and change.startswith("hangulgan from-scan"):
        return f"{command} --charset seed16 --adapt-steps 5"
    return command


def test_every_readme_command_is_run_or_listed():
    commands = [
        strip_comment(c) for b in readme_blocks() if b.language != "python" for c in b.commands()
    ]
    for table in (NOT_ON_CI, CI_CHANGES):
        for prefix in table:
            assert any((c + " ").startswith(prefix) for c in commands), f"{prefix!r}: in no page"
    assert any(b.language == "python" for b in readme_blocks())


def test_every_page_of_docs_is_run():
    assert sorted(DOCS) == sorted(p.name for p in (ROOT / "docs").glob("*.md"))


def test_links_between_pages_resolve():
    checked = 0
    for page in (*PAGES, ROOT / "fonts" / "README.md"):
        text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.S | re.M)
        targets = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r'<img src="([^"]+)"', text)
        for target in targets:
            if re.match(r"[a-z]+:", target):
                continue  # a web address
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            assert file.exists(), f"{page.name}: link to {target}: no such file"
            if anchor:
                headings = re.findall(r"^#+ (.*)$", file.read_text(encoding="utf-8"), re.M)
                assert anchor in {heading_anchor(h) for h in headings}, (
                    f"{page.name}: link to {target}: no such heading"
                )
            checked += 1
    assert checked


def test_python_blocks_are_valid_python():
    for block in readme_blocks():
        if block.language == "python":
            ast.parse(block.text, filename=f"{block.page}:{block.line}")


def test_package_docstring_names_only_packages_that_exist():
    named = re.findall(r"``(\w+)``", hangulgan.__doc__)
    assert named
    for name in named:
        assert importlib.util.find_spec(f"hangulgan.{name}"), f"hangulgan.{name} does not exist"


@pytest.mark.slow
def test_readme_blocks_run(tmp_path):
    env = shell_env(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    train_steps: dict[str, int] = {}
    ran, skipped = [], []
    skipped_prefixes: set[str] = set()
    for block in readme_blocks():
        where = f"{block.page}:{block.line}"
        if block.language == "python":
            steps = [(block.text, [sys.executable, "-c", block.text])]
        else:
            steps = []
            for command in block.commands():
                command = strip_comment(command)
                prefix = matching(NOT_ON_CI, command)
                if prefix:
                    skipped.append(f"{where}: {command}  ({NOT_ON_CI[prefix]})")
                    skipped_prefixes.add(prefix)
                    continue
                steps.append((command, ["bash", "-c", ci_version(command, train_steps)]))
        for shown, argv in steps:
            seconds = run_step(argv, work, env, shown, where)
            ran.append(f"{seconds:5.1f} s  {shown.splitlines()[0]}")
    print("\nran:", *ran, "\nnot on CI:", *skipped, sep="\n  ")
    # each entry skipped something (the install line is on two pages, so not a count)
    assert skipped_prefixes == set(NOT_ON_CI)
    assert (work / "Draft.ttf").is_file() and (work / "out" / "Round.ttf").is_file()
    # the styled run's training split, written by training.md's `python -c` line
    assert len((work / "train-syllables.txt").read_text(encoding="utf-8")) == 10_055
