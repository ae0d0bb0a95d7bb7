"""The declared dependency ranges are the ones the code needs and was tested with."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
tomllib = pytest.importorskip("tomllib")


def requirement(name: str) -> Requirement:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for line in project["dependencies"]:
        req = Requirement(line)
        if req.name == name:
            return req
    raise AssertionError(f"{name} is not a dependency")


def test_torch_range_excludes_versions_without_fused_cpu_adam():
    torch = requirement("torch")
    assert not torch.specifier.contains(Version("2.3.1"))  # fused Adam on CPU came in 2.4
    assert torch.specifier.contains(Version("2.4.0"))
    assert torch.specifier.contains(Version("2.13.0"))  # what `make install` installs


def test_freetype_py_is_pinned_to_the_tested_range():
    freetype = requirement("freetype-py")
    installed = Version(importlib.metadata.version("freetype-py"))
    assert freetype.specifier.contains(installed)
    assert not freetype.specifier.contains(Version("3.0.0"))  # untested majors are refused


@pytest.mark.skipif(not shutil.which("make"), reason="make is not installed")
def test_make_install_takes_an_index_for_torch():
    def dry_run(*args: str) -> str:
        result = subprocess.run(
            ["make", "-n", "-B", "install", *args], cwd=ROOT, capture_output=True, text=True
        )
        return next(line for line in result.stdout.splitlines() if "install -q torch==" in line)

    url = "https://download.pytorch.org/whl/cpu"
    assert dry_run(f"TORCH_INDEX={url}").endswith(f"torch==2.13.0 --index-url {url}")
    assert dry_run().rstrip().endswith("torch==2.13.0")  # the default is unchanged
