"""export-ttf on glyph sets it cannot trust: a stored geometry outside its sane range is a
clear exit-2 error naming the glyph set and the field; noise glyphs are skipped as too
complex (before pathops spends minutes on them) or as beyond TrueType's limits."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pathops
import pytest
from click.testing import CliRunner
from fontTools.ttLib import TTFont

from hangulgan.cli import main
from hangulgan.data.glyphset import GlyphSet
from hangulgan.data.placement import Geometry
from hangulgan.vector import outlines, tracepool
from hangulgan.vector.fontbuild import build_font

SYLLABLES = np.arange(0xAC00, 0xAC04)


def run(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def block_images(count: int, size: int = 32) -> np.ndarray:
    images = np.zeros((count, size, size), np.uint8)
    images[:, size // 4 : size * 3 // 4, size // 4 : size * 3 // 4] = 255
    return images


@pytest.fixture
def glyph_folder(tmp_path: Path) -> Path:
    """A glyph set with a recorded geometry (NanumGothic-like: 940 advance, 800/-200)."""
    geometry = Geometry(canvas=32, em_px=30.0, baseline_row=25.0, advance=940)
    meta = {"placement": "em", "geometry": geometry.to_meta()}
    return GlyphSet(block_images(len(SYLLABLES)), SYLLABLES, name="set", meta=meta).save(
        tmp_path / "glyphs"
    )


def set_geometry(folder: Path, field: str, value: object) -> None:
    header_path = folder / "glyphset.json"
    header = json.loads(header_path.read_text())
    geometry = header["meta"]["geometry"]
    if "[" in field:  # e.g. hhea[0] or advances[AC01]
        name, key = field[:-1].split("[")
        target = geometry.setdefault(name, {})
        target[int(key) if isinstance(target, list) else key] = value
    else:
        geometry[field] = value
    # json writes NaN and Infinity as Python reads them back
    header_path.write_text(json.dumps(header))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("em_px", math.nan),
        ("baseline_row", math.inf),
        ("hhea[0]", 10**6),
        ("advance", 10**9),
        ("advances[AC01]", -500),
        ("units_per_em", 10**9),
        ("hhea", [880]),
        ("win", [1000, -5]),
        ("canvas", "32"),
    ],
)
def test_export_refuses_a_geometry_out_of_range(
    glyph_folder: Path, tmp_path: Path, field: str, value: object
) -> None:
    set_geometry(glyph_folder, field, value)
    out = tmp_path / "x.ttf"
    code, output = run("export-ttf", glyph_folder, "--out", out, "--quiet", "--no-specimen")
    assert code == 2, output
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert str(glyph_folder) in output  # the glyph set, as the user named it
    assert field.split("[")[0] in output  # and the field
    assert not out.exists()


def test_a_sane_geometry_still_exports(glyph_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.ttf"
    code, output = run("export-ttf", glyph_folder, "--out", out, "--quiet", "--no-specimen")
    assert code == 0, output
    assert TTFont(str(out))["hmtx"]["uniAC00"][0] == 940


def noise_glyphs(count: int, size: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return ((rng.random((count, size, size)) < 0.5) * 255).astype(np.uint8)


def test_noise_glyphs_are_skipped_as_too_complex(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 64 px noise traces into about 2,000 segments in 120 contours; the bound is lowered
    # so that small images show what 1024 px ones (minutes in pathops) meet
    monkeypatch.setattr(tracepool, "MAX_SEGMENTS", 500)
    images = np.concatenate([noise_glyphs(3, 64), block_images(1, 64)])
    glyphs = GlyphSet(images, SYLLABLES)
    report = build_font(glyphs, tmp_path / "x.ttf", workers=1)
    assert [(s.codepoint, s.reason) for s in report.skipped] == [
        (int(cp), "too complex") for cp in SYLLABLES[:3]
    ]
    assert report.glyphs == 1  # the block
    monkeypatch.setattr(tracepool, "MAX_SEGMENTS", 5000)
    monkeypatch.setattr(tracepool, "MAX_CONTOURS", 50)
    report = build_font(glyphs, tmp_path / "y.ttf", workers=1)
    assert [s.reason for s in report.skipped] == ["too complex"] * 3


def test_export_lists_too_complex_glyphs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracepool, "MAX_SEGMENTS", 500)
    images = np.concatenate([noise_glyphs(1, 64), block_images(3, 64)])
    folder = GlyphSet(images, SYLLABLES).save(tmp_path / "noise")
    out = tmp_path / "x.ttf"
    args = ("export-ttf", folder, "--out", out, "--quiet", "--no-specimen", "--workers", "1")
    code, output = run(*args)
    assert code == 0, output
    assert "skipped 1 glyphs, left unmapped:\n  too complex (1): 가\n" in output


def test_a_glyph_beyond_truetypes_point_limit_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the real limit, on the encoder directly: 70,000 points cannot be numbered in uint16
    many = [(float(i % 1000), float(i // 1000)) for i in range(70_000)]
    with pytest.raises(outlines.OutlineOverflow, match="70000 points"):
        outlines.encode_glyf([(many, [1] * len(many))])
    # coordinates whose deltas do not fit int16 (struct.error before)
    far = [(-30000.0, 0.0), (30000.0, 0.0), (30000.0, 10.0)]
    with pytest.raises(outlines.OutlineOverflow):
        outlines.encode_glyf([(far, [1, 1, 1])])
    path = pathops.Path()
    path.moveTo(-30000, 0)
    path.lineTo(30000, 0)
    path.lineTo(30000, 10)
    path.close()
    with pytest.raises(outlines.OutlineOverflow):
        outlines.compile_with_pens(path)
    # through the build, with the limit lowered to what a noise glyph exceeds
    monkeypatch.setattr(outlines, "MAX_GLYF_POINTS", 300)
    images = np.concatenate([noise_glyphs(1, 32), block_images(3, 32)])
    report = build_font(GlyphSet(images, SYLLABLES), tmp_path / "x.ttf", workers=1)
    assert [(s.codepoint, s.reason) for s in report.skipped] == [
        (int(SYLLABLES[0]), "beyond TrueType's limits")
    ]
    assert TTFont(str(tmp_path / "x.ttf"))["maxp"].maxPoints <= 300
