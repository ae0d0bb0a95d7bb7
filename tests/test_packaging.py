"""The declared dependency ranges are the ones the code needs and was tested with; the shipped
weights are package data, in one folder, and a built wheel carries them."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import zipfile
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


def test_shipped_weights_lie_in_one_folder_that_is_package_data():
    from hangulgan.eval.classifier import default_content_classifier_path
    from hangulgan.models.styled_weights import SHIPPED_WEIGHTS

    folder = ROOT / "hangulgan" / "weights"
    assert default_content_classifier_path().parent.resolve() == folder
    assert SHIPPED_WEIGHTS.parent.resolve() == folder
    shipped = sorted(p.relative_to(ROOT / "hangulgan") for p in folder.iterdir())
    assert {p.name for p in shipped} >= {
        "styled-32.safetensors",
        "content-classifier.safetensors",
        "content-classifier.json",
    }
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["hangulgan"]
    assert all(any(p.match(glob) for glob in globs) for p in shipped), (shipped, globs)
    # no second weights folder anywhere else in the package
    assert [p for p in (ROOT / "hangulgan").rglob("weights") if p.is_dir()] == [folder]


@pytest.mark.slow
def test_a_built_wheel_carries_the_shipped_weights(tmp_path):
    pytest.importorskip("setuptools")
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "hangulgan", source / "hangulgan", ignore=shutil.ignore_patterns("__pycache__")
    )
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["-w", str(tmp_path / "dist"), str(source)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = (tmp_path / "dist").glob("hangulgan-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "styled-32.safetensors",
        "content-classifier.safetensors",
        "content-classifier.json",
    ):
        assert f"hangulgan/weights/{name}" in names
    assert not [n for n in names if n.startswith("hangulgan/eval/weights/")]
