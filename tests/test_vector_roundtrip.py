"""Integration: a real font's round trip, 32 px glyph set → export → the new font against
the source font file."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from hangulgan import hangul
from hangulgan.data.glyphset import GlyphSet
from hangulgan.data.render import render_face
from hangulgan.vector import check
from hangulgan.vector.fontbuild import build_font
from hangulgan.vector.names import FontInfo

import fontfactory
from conftest import NANUM, debian_font


@pytest.mark.slow
def test_nanum_gothic_round_trip_ksx1001(tmp_path: Path) -> None:
    """The 2,350 KS X 1001 syllables of NanumGothic traced from 32 px, compared with
    NanumGothic.ttf itself, both on one baseline: mean ink IoU ≥ 0.93 (the issue's bar for
    all 11,172; bench_export.py measures those)."""
    source = debian_font(NANUM / "NanumGothic.ttf")
    rendered = render_face(str(source), hangul.ksx1001_syllables(), size=32)
    reference = GlyphSet(
        rendered.images,
        rendered.codepoints,
        name="NanumGothic@32",
        meta=rendered.placement_meta(),
    )
    assert len(reference) == 2350

    out = tmp_path / "NanumDraft.ttf"
    report = build_font(
        reference, out, info=FontInfo(family="Nanum Draft"), workers=2, fallback=source
    )
    assert report.glyphs == 2350 + len(report.borrowed) and not report.skipped
    assert 0x3131 in report.borrowed

    traced = check.round_trip(out, reference)
    assert not traced.missing
    trip = check.font_round_trip(out, source, 32)
    assert trip.compared == 2350 and trip.advance_mismatches == 0
    assert trip.mean_iou >= 0.93, f"mean IoU {trip.mean_iou:.4f}"
    # the glyphs are where the tracing put them: nothing lost to placement
    assert abs(trip.mean_iou - traced.mean_iou) < 0.005

    result = check.check_font(out, reference_font=source, min_iou=0.93)
    assert result.ots_ok
    if shutil.which("fc-query"):
        # KS X 1001 syllables plus the borrowed compatibility jamo: fontconfig's 'ko'
        assert result.korean_ok, result.fontconfig
        assert result.ok, result.problems
    assert np.isclose(result.round_trips[0].mean_iou, trip.mean_iou)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("fc-query") is None, reason="fontconfig is not installed")
def test_check_font_wants_jamo_for_korean(tmp_path: Path) -> None:
    """A full syllable set alone is not Korean to fontconfig; with the compatibility jamo it
    is, and check-font says which."""
    box = [(100, 0, 900, 800)]
    syllables = {cp: box for cp in hangul.all_syllables()}
    bare = fontfactory.build_font(
        tmp_path / "bare.ttf", shapes=syllables, empty_mapped=False, unmapped=False
    )
    result = check.check_font(bare, sample=50)
    assert result.full_set and not result.korean_ok and result.ots_ok
    assert any("compatibility jamo" in problem for problem in result.problems)

    jamo = {cp: box for cp in range(0x3131, 0x318F)}
    full = fontfactory.build_font(
        tmp_path / "full.ttf", shapes={**syllables, **jamo}, empty_mapped=False, unmapped=False
    )
    result = check.check_font(full, sample=50)
    assert result.korean_ok and result.ok, result.problems
    assert result.round_trips[0].mean_iou > 0.95
