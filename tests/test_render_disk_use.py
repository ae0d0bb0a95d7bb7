"""`render --augment` says how much it will write before it writes several GB."""

from __future__ import annotations

from click.testing import CliRunner

from hangulgan.cli import main
from hangulgan.data import corpus_render as corpus_module
from hangulgan.data.augment import PARAM_NAMES
from hangulgan.data.corpus_manifest import RenderSettings
from hangulgan.data.corpus_render import AUGMENT_WARN_BYTES


def test_disk_estimate_of_an_augmented_default_corpus():
    settings = RenderSettings(size=32, augment_copies=4)
    glyphs = 53 * 11172  # the default font set
    expected = glyphs * 5 * 32 * 32 + glyphs * 4 * len(PARAM_NAMES) * 4
    assert settings.disk_bytes(glyphs) == expected
    assert expected > 2 * AUGMENT_WARN_BYTES  # about 3 GB: it warns
    assert RenderSettings(size=32).disk_bytes(glyphs) < AUGMENT_WARN_BYTES  # clean: it does not


def render(test_font, out, *args):
    return CliRunner().invoke(main, ["render", str(test_font), str(out), "--quiet", *args])


def test_augmented_render_warns_before_it_writes(tmp_path, test_font, monkeypatch):
    monkeypatch.setattr(corpus_module, "AUGMENT_WARN_BYTES", 1)
    result = render(test_font, tmp_path / "c", "--augment", "2", "--size", "16")
    assert result.exit_code in (0, 1), result.output
    warning = next(line for line in result.stderr.splitlines() if line.startswith("warning:"))
    assert "--augment 2 writes about 0.0 GB to" in warning
    assert "1 faces, 4 glyphs × 3 images of 16×16 px" in warning and "GB free there" in warning
    assert result.output.index("warning: --augment") < result.output.index("rendered 1 faces")


def test_no_warning_without_augmentation(tmp_path, test_font, monkeypatch):
    monkeypatch.setattr(corpus_module, "AUGMENT_WARN_BYTES", 1)
    result = render(test_font, tmp_path / "c", "--size", "16")
    assert result.exit_code in (0, 1), result.output
    assert "warning:" not in result.output
