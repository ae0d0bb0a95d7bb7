"""export-ttf and check-font through the command line; the checks module."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from fontTools.ttLib import TTFont
from PIL import Image

from hangulgan.cli import main
from hangulgan.data.glyphset import GlyphSet
from hangulgan.data.render import render_face
from hangulgan.vector import check

HAS_FC = shutil.which("fc-query") is not None


@pytest.fixture
def glyph_folder(test_font: Path, tmp_path: Path) -> Path:
    """A saved glyph set: 가 나 한 from the test font plus one empty image (다)."""
    rendered = render_face(str(test_font), [ord(c) for c in "가나한"], size=32)
    images = np.concatenate([rendered.images, np.zeros((1, 32, 32), np.uint8)])
    cps = np.array([*rendered.codepoints.tolist(), ord("다")])
    return GlyphSet(images, cps, name="cli-set").save(tmp_path / "glyphs")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_export_writes_font_and_specimens(glyph_folder: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "font"
    out_dir.mkdir()
    out = out_dir / "Draft.ttf"
    code, output = run(
        "export-ttf",
        str(glyph_folder),
        "--out",
        str(out),
        "--family",
        "Draft Sans",
        "--workers",
        "1",
        "--quiet",
    )
    assert code == 0, output
    assert "OpenType Sanitizer: passed" in output
    assert "skipped 1 glyphs, left unmapped:\n  empty (1): 다\n" in output
    assert "fc-cache" in output
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "Draft.specimen.html",
        "Draft.specimen.png",
        "Draft.ttf",
    ]
    assert TTFont(str(out))["name"].getDebugName(1) == "Draft Sans"
    page = (out_dir / "Draft.specimen.html").read_text(encoding="utf-8")
    assert "@font-face" in page and 'url("Draft.ttf")' in page and "가나한" in page
    picture = np.asarray(Image.open(out_dir / "Draft.specimen.png"))
    assert picture.ndim == 2 and (picture < 128).any()  # some ink was set

    # an existing font is kept unless --force
    code, output = run("export-ttf", str(glyph_folder), "--out", str(out), "--quiet")
    assert code == 2 and "already exists" in output
    code, output = run(
        "export-ttf",
        str(glyph_folder),
        "--out",
        str(out),
        "--quiet",
        "--force",
        "--no-specimen",
        "--format",
        "otf",
    )
    assert code == 0, output
    assert TTFont(str(out)).sfntVersion == "OTTO"


def test_export_reads_a_corpus_face_reference(glyph_folder: Path, tmp_path: Path) -> None:
    code, output = run(
        "export-ttf",
        f"{tmp_path / 'nocorpus'}::face",
        "--out",
        str(tmp_path / "x.ttf"),
    )
    assert code == 2 and output.startswith("error: ")
    assert not (tmp_path / "x.ttf").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--family", "Bad\x07"], "cannot hold"),
        (["--upscale", "0"], "Invalid value"),
        (["--threshold", "1.5"], "threshold"),
    ],
)
def test_export_bad_arguments(
    glyph_folder: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "x.ttf"
    code, output = run("export-ttf", str(glyph_folder), "--out", str(out), "--quiet", *args)
    assert code == 2, output
    assert message in output
    assert not out.exists()


def test_export_creates_missing_folders(glyph_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "fonts" / "x.ttf"
    specimens = tmp_path / "pages" / "draft"
    code, output = run(
        "export-ttf",
        str(glyph_folder),
        "--out",
        str(out),
        "--specimen-dir",
        str(specimens),
        "--quiet",
    )
    assert code == 0, output
    assert out.is_file()
    assert sorted(p.name for p in specimens.iterdir()) == ["x.specimen.html", "x.specimen.png"]


def test_export_never_overwrites_specimens_silently(glyph_folder: Path, tmp_path: Path) -> None:
    # a folder with a file of the specimen's name that export-ttf did not write, and the
    # user's own notes
    folder = tmp_path / "fonts"
    folder.mkdir()
    (folder / "Draft.specimen.png").write_bytes(b"the user's picture")
    (folder / "notes.txt").write_text("mine")
    out = folder / "Draft.ttf"
    code, output = run("export-ttf", str(glyph_folder), "--out", str(out), "--quiet")
    assert code == 2 and "Draft.specimen.png: already exists" in output and "--force" in output
    assert not out.exists()  # refused before tracing: nothing written
    # --force does not replace it either: export-ttf did not make it
    code, output = run("export-ttf", str(glyph_folder), "--out", str(out), "--quiet", "--force")
    assert code == 2 and "is not a specimen export-ttf wrote" in output
    assert not out.exists()
    assert (folder / "Draft.specimen.png").read_bytes() == b"the user's picture"
    # without a specimen, the export goes ahead
    code, output = run(
        "export-ttf", str(glyph_folder), "--out", str(out), "--quiet", "--no-specimen"
    )
    assert code == 0, output
    assert (folder / "Draft.specimen.png").read_bytes() == b"the user's picture"
    # --force replaces the font and specimens export-ttf made, and nothing else
    (folder / "Draft.specimen.png").unlink()
    for _ in range(2):
        code, output = run("export-ttf", str(glyph_folder), "--out", str(out), "--quiet", "--force")
        assert code == 0, output
    assert (folder / "Draft.specimen.png").read_bytes().startswith(b"\x89PNG")
    assert sorted(p.name for p in folder.iterdir()) == [
        "Draft.specimen.html",
        "Draft.specimen.png",
        "Draft.ttf",
        "notes.txt",
    ]
    assert (folder / "notes.txt").read_text() == "mine"


def test_fonts_exported_into_one_folder_each_get_their_specimens(
    glyph_folder: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "fonts"
    for name in ("Round", "Square"):
        out = folder / f"{name}.ttf"
        code, output = run("export-ttf", str(glyph_folder), "--out", str(out), "--quiet")
        assert code == 0, output
        assert f"{name}.specimen.png" in output
    assert sorted(p.name for p in folder.iterdir()) == [
        "Round.specimen.html",
        "Round.specimen.png",
        "Round.ttf",
        "Square.specimen.html",
        "Square.specimen.png",
        "Square.ttf",
    ]
    page = (folder / "Square.specimen.html").read_text(encoding="utf-8")
    assert 'url("Square.ttf")' in page


@pytest.mark.parametrize("kind", ["font", "text"])
def test_export_force_never_replaces_a_users_file(
    glyph_folder: Path, test_font: Path, tmp_path: Path, kind: str
) -> None:
    out = tmp_path / "Mine.ttf"
    mine = test_font.read_bytes() if kind == "font" else b"not a font at all"
    out.write_bytes(mine)
    args = ["export-ttf", str(glyph_folder), "--out", str(out), "--quiet", "--no-specimen"]
    code, output = run(*args)
    assert code == 2 and "Mine.ttf: already exists" in output
    code, output = run(*args, "--force")
    assert code == 2 and "is not a font export-ttf made" in output
    assert out.read_bytes() == mine


def test_export_checks_its_input_before_any_clash(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# notes")
    out = tmp_path / "x.ttf"
    out.write_bytes(b"there already")
    (tmp_path / "x.specimen.png").write_bytes(b"there already")
    code, output = run("export-ttf", str(readme), "--out", str(out), "--quiet")
    assert code == 2 and "not a glyph set" in output and "already exists" not in output


def test_export_glyph_set_without_code_points(glyph_folder: Path, tmp_path: Path) -> None:
    (glyph_folder / "codepoints.npy").unlink()
    code, output = run("export-ttf", str(glyph_folder), "--out", str(tmp_path / "x.ttf"))
    assert code == 2 and "codepoints.npy: missing" in output
    assert not (tmp_path / "x.ttf").exists()


def test_export_all_blank_glyph_set(tmp_path: Path) -> None:
    folder = GlyphSet(np.zeros((3, 32, 32), np.uint8), np.arange(0xAC00, 0xAC03)).save(
        tmp_path / "blank"
    )
    code, output = run("export-ttf", str(folder), "--out", str(tmp_path / "x.ttf"), "--quiet")
    assert code == 2 and "no glyph left to export (3 skipped: empty)" in output
    assert not (tmp_path / "x.ttf").exists()


def test_check_font_passes_a_built_font(glyph_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "Draft.ttf"
    code, output = run(
        "export-ttf",
        str(glyph_folder),
        "--out",
        str(out),
        "--quiet",
        "--no-specimen",
        "--family",
        "Check Me",
    )
    assert code == 0, output
    code, output = run("check-font", str(out), "--glyphs", str(glyph_folder))
    assert "OpenType Sanitizer: passed" in output
    assert "round trip 32 px over 4 glyphs against cli-set" in output
    if HAS_FC:
        assert code == 0, output
        assert "family Check Me" in output and output.rstrip().endswith("ok")
    code, output = run("check-font", str(out), "--sample", "10")
    assert "round trip 32 px over 3 glyphs" in output


def test_check_font_fails_a_damaged_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttf"
    bad.write_bytes(b"\x00\x01\x00\x00" + b"\x00" * 60)
    code, output = run("check-font", str(bad))
    assert code in (1, 2) and "bad.ttf" in output


def test_ink_iou() -> None:
    a = np.zeros((3, 4, 4), np.uint8)
    b = np.zeros((3, 4, 4), np.uint8)
    a[0, :2] = 255
    b[0, 1:3] = 255  # overlap 1 row of 3
    a[1, 0, 0] = 255  # nothing in b
    np.testing.assert_allclose(check.ink_iou(a, b), [1 / 3, 0.0, 1.0])


@pytest.mark.skipif(not HAS_FC, reason="fontconfig's fc-query is not installed")
def test_fc_query_reads_family(glyph_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "fc.ttf"
    code, output = run(
        "export-ttf",
        str(glyph_folder),
        "--out",
        str(out),
        "--quiet",
        "--no-specimen",
        "--family",
        "초안 고딕",
    )
    assert code == 0, output
    view = check.fc_query(out)
    assert "초안 고딕" in view.family and view.fontformat == "TrueType"
    assert "ko" not in view.langs  # three syllables are not Korean coverage
