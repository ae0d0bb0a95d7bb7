"""The import contract: layers that import downward only, no cycles, no private names across
modules.

``[tool.importlinter]`` in pyproject.toml holds the layers, acyclic and private-module
contracts, checked by import-linter (``lint-imports``). import-linter sees modules, not the
names taken from them, so the rule that no module uses another module's private names
(``from hangulgan.x import _name``, ``module._name``) is checked here with ``ast``. Each check
is shown to be live: a copy of the package with a deliberately added upward import, cycle or
private import fails it.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "hangulgan"

needs_import_linter = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="import-linter needs Python >= 3.11 (the dev extra)"
)


def lint_imports(project: Path) -> tuple[int, str]:
    """Run import-linter on the package under ``project`` with its pyproject.toml."""
    result = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()"]
        + ["--no-cache"],  # the cache would be written into the checkout
        cwd=project,
        # the package is found on PYTHONPATH before the editable install of this checkout
        env=dict(os.environ, PYTHONPATH=str(project), NO_COLOR="1"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode, result.stdout + result.stderr


def is_private(name: str) -> bool:
    """``_name`` is private; ``__name__`` (dunder) is not."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def module_names(package_dir: Path) -> dict[str, Path]:
    """Dotted module name → file, for every module and package under ``package_dir``."""
    names = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def private_uses(package_dir: Path) -> list[str]:
    """Every place a module of the package reaches a private name of another module, or a
    private module from outside the package that holds it: ``file:line: what``.

    Covered: ``from M import _name``; ``import M._private`` and ``from M._private import x``
    outside M; ``alias._name`` where ``alias`` is bound to another module of the package;
    ``"module:Name"`` strings (the lazy model registry's form) that name a private module or
    name, a module that does not exist, or a name the module does not define.
    """
    modules = module_names(package_dir)
    problems: list[str] = []
    for importer, path in modules.items():
        where = str(path.relative_to(package_dir.parent))
        problems += [
            f"{where}:{line}: {what}"
            for line, what in module_private_uses(importer, path, modules, package_dir.name)
        ]
    return sorted(set(problems))


def module_private_uses(
    importer: str, path: Path, modules: dict[str, Path], root_name: str
) -> list[tuple[int, str]]:
    """(line, what) for each private use in one module (see :func:`private_uses`)."""
    package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    aliases: dict[str, str] = {}  # local name → module of the package it is bound to
    found: list[tuple[int, str]] = []

    def reach_module(target: str, line: int) -> None:
        # a private module may be used only inside the package that holds it
        parts = target.split(".")
        for i, part in enumerate(parts):
            owner = ".".join(parts[:i])
            if is_private(part) and not (importer + ".").startswith(owner + "."):
                found.append((line, f"imports private module {target}"))
                return

    def reach_name(module: str, name: str, line: int) -> None:
        if f"{module}.{name}" in modules:
            reach_module(f"{module}.{name}", line)
        elif is_private(name) and module != importer:
            found.append((line, f"uses private name {name} of {module}"))

    def resolve(node: ast.expr) -> str | None:
        """The module of the package an expression names (``alias``, ``alias.sub``)."""
        if isinstance(node, ast.Name):
            return aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = resolve(node.value)
            if base and f"{base}.{node.attr}" in modules:
                return f"{base}.{node.attr}"
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] != root_name:
                    continue
                reach_module(alias.name, node.lineno)
                aliases[alias.asname or root_name] = alias.name if alias.asname else root_name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the importer's package upward
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != root_name:
                continue
            reach_module(source, node.lineno)
            for alias in node.names:
                reach_name(source, alias.name, node.lineno)
                if f"{source}.{alias.name}" in modules:
                    aliases[alias.asname or alias.name] = f"{source}.{alias.name}"
    # a second pass: every alias is bound before its attributes are read
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            module = resolve(node.value)
            if module:
                reach_name(module, node.attr, node.lineno)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            module, colon, name = node.value.partition(":")
            if not colon or not module.startswith(root_name + ".") or not name.isidentifier():
                continue
            if module not in modules:
                found.append((node.lineno, f"{node.value!r} names no module"))
                continue
            reach_module(module, node.lineno)
            if is_private(name):
                found.append((node.lineno, f"{node.value!r} names a private name"))
            elif name not in top_level_names(modules[module]):
                found.append((node.lineno, f"{node.value!r}: {module} defines no {name}"))
    return found


def top_level_names(path: Path) -> set[str]:
    """The names a module binds at its top level (defs, classes, assignments, imports)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


@needs_import_linter
def test_the_import_contract_holds():
    code, out = lint_imports(ROOT)
    assert code == 0, out


def test_no_module_uses_another_modules_private_names():
    assert private_uses(PACKAGE) == []


def copy_package(tmp_path: Path) -> Path:
    """A copy of the package and its pyproject.toml (the contract) under ``tmp_path``."""
    shutil.copytree(PACKAGE, tmp_path / "hangulgan", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


@needs_import_linter
def test_the_contract_fails_on_an_upward_import_a_cycle_and_a_private_module(tmp_path):
    project = copy_package(tmp_path)
    data = project / "hangulgan" / "data"
    (data / "upward_probe.py").write_text("import hangulgan.cli\n")
    # the cycle in a package of its own, so that the report names it alone
    (data / "cycle_probe").mkdir()
    (data / "cycle_probe" / "__init__.py").write_text("")
    (data / "cycle_probe" / "a.py").write_text("from hangulgan.data.cycle_probe import b\n")
    (data / "cycle_probe" / "b.py").write_text("from hangulgan.data.cycle_probe import a\n")
    (data / "_private_probe.py").write_text("VALUE = 1\n")
    (project / "hangulgan" / "cli" / "private_probe.py").write_text(
        "from hangulgan.data._private_probe import VALUE\n"
    )
    code, out = lint_imports(project)
    assert code != 0, out
    assert "hangulgan.data.upward_probe -> hangulgan.cli" in out, out
    cycle = out.partition("No cycles are allowed in hangulgan.data.cycle_probe.")[2]
    assert "- .a -> .b" in cycle or "- .b -> .a" in cycle, out
    assert "hangulgan.cli.private_probe -> hangulgan.data._private_probe" in out, out


def test_the_private_name_check_finds_each_kind_and_allows_the_rest(tmp_path):
    package = tmp_path / "hangulgan"
    files = {
        "__init__.py": '"""Root."""\n__version__ = "1"\n',
        "a/__init__.py": "",
        "a/mod.py": "def _helper():\n    pass\n\ndef helper():\n    _helper()\n",
        "a/_impl.py": "def public():\n    pass\n",
        "a/inside.py": "from hangulgan.a import _impl\nfrom hangulgan.a._impl import public\n"
        "from ._impl import public as again\n",  # a private module, used inside its package
        "b/__init__.py": "from hangulgan import __version__\n",  # dunders are public
        "b/from_import.py": "from hangulgan.a.mod import _helper, helper\n",
        "b/attribute.py": "from hangulgan.a import mod\nimport hangulgan.a.mod as m\n"
        "import hangulgan.a.mod\n\nmod._helper()\nm._helper()\nhangulgan.a.mod._helper()\n",
        "b/private_module.py": "from hangulgan.a import _impl\n",
        "b/relative.py": "from ..a.mod import _helper\n",
        "b/registry.py": 'ENTRIES = {"x": "hangulgan.a.mod:_Hidden", "y": "hangulgan.gone:Model",'
        ' "z": "hangulgan.a.mod:helper", "w": "hangulgan.a.mod:Missing"}\n',
    }
    for name, text in files.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    assert private_uses(package) == [
        "hangulgan/b/attribute.py:5: uses private name _helper of hangulgan.a.mod",
        "hangulgan/b/attribute.py:6: uses private name _helper of hangulgan.a.mod",
        "hangulgan/b/attribute.py:7: uses private name _helper of hangulgan.a.mod",
        "hangulgan/b/from_import.py:1: uses private name _helper of hangulgan.a.mod",
        "hangulgan/b/private_module.py:1: imports private module hangulgan.a._impl",
        "hangulgan/b/registry.py:1: 'hangulgan.a.mod:Missing': hangulgan.a.mod defines no Missing",
        "hangulgan/b/registry.py:1: 'hangulgan.a.mod:_Hidden' names a private name",
        "hangulgan/b/registry.py:1: 'hangulgan.gone:Model' names no module",
        "hangulgan/b/relative.py:1: uses private name _helper of hangulgan.a.mod",
    ]
