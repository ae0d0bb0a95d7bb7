"""Building fonts from glyph sets: tables, outlines, metrics, bad input, atomic output."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pathops
import pytest
from fontTools.ttLib import TTFont

from hangulgan.data.glyphset import GlyphSet
from hangulgan.data.render import render_face
from hangulgan.errors import GlyphSetError, VectorError
from hangulgan.vector import check, outlines, tracepool
from hangulgan.vector.fontbuild import build_font
from hangulgan.vector.names import FontInfo
from hangulgan.vector.trace import TraceParams

import fontfactory

RING_CP = ord("라")
EMPTY_CP = ord("다")
BLOCK_CP = ord("마")
DISC_CP = ord("바")


def ring_image(size: int = 32) -> np.ndarray:
    big = np.zeros((size * 4, size * 4), dtype=np.float32)
    big[30:98, 30:98] = 1.0
    big[50:78, 50:78] = 0.0
    return np.round(big.reshape(size, 4, size, 4).mean(axis=(1, 3)) * 255).astype(np.uint8)


def disc_image(size: int = 32) -> np.ndarray:
    """A filled circle, anti-aliased: its outline needs curves."""
    yy, xx = np.mgrid[0 : size * 4, 0 : size * 4] + 0.5
    big = ((xx - 64) ** 2 + (yy - 64) ** 2 <= 40**2).astype(np.float32)
    return np.round(big.reshape(size, 4, size, 4).mean(axis=(1, 3)) * 255).astype(np.uint8)


@pytest.fixture
def glyphs(test_font: Path) -> GlyphSet:
    """가 나 한 rendered from the rectangle test font, a ring (라), a disc (바), an empty
    image (다) and an all-ink block (마)."""
    rendered = render_face(str(test_font), [ord(c) for c in "가나한"], size=32)
    images = np.concatenate(
        [
            rendered.images,
            ring_image()[None],
            disc_image()[None],
            np.zeros((1, 32, 32), np.uint8),
            np.full((1, 32, 32), 255, np.uint8),
        ]
    )
    cps = [*rendered.codepoints.tolist(), RING_CP, DISC_CP, EMPTY_CP, BLOCK_CP]
    return GlyphSet(images=images, codepoints=np.array(cps), name="synthetic")


def signed_areas(font: TTFont, name: str) -> list[float]:
    """Shoelace area of each contour (on- and off-curve points); < 0 is clockwise."""
    glyf = font["glyf"]
    coords, ends, _flags = glyf[name].getCoordinates(glyf)
    areas, start = [], 0
    for end in ends:
        pts = np.array(coords[start : end + 1], dtype=float)
        x, y = pts[:, 0], pts[:, 1]
        areas.append(0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)))
        start = end + 1
    return areas


@pytest.fixture
def outdir(tmp_path: Path) -> Path:
    """An empty folder for outputs (tmp_path holds the test font)."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_build_writes_a_valid_font(glyphs: GlyphSet, outdir: Path) -> None:
    out = outdir / "Draft.ttf"
    info = FontInfo(family="Draft Sans", style="Regular", licence="CC0 test licence")
    report = build_font(glyphs, out, info=info)
    assert leftovers(outdir) == ["Draft.ttf"]
    check.sanitize(out)  # raises if OTS rejects it
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600

    # exactly the syllables that hold a glyph, plus space; skipped ones listed with reasons
    assert {s.codepoint: s.reason for s in report.skipped} == {
        EMPTY_CP: "empty",
        BLOCK_CP: "all ink",
    }
    font = TTFont(str(out))
    cmap = font.getBestCmap()
    assert set(cmap) == {0x20, *(ord(c) for c in "가나한라바")}
    assert all(cmap[cp] == f"uni{cp:04X}" for cp in cmap if cp != 0x20)
    assert font.getGlyphOrder()[0] == ".notdef" and ".notdef" not in cmap.values()
    assert report.mapped == sorted(cmap)

    hmtx, glyf = font["hmtx"], font["glyf"]
    for cp, name in cmap.items():
        advance, lsb = hmtx[name]
        if cp == 0x20:
            assert glyf[name].numberOfContours == 0
            continue
        assert advance == 1000
        # FreeType places an outline from its bearing: lsb must be the glyph's xMin
        assert lsb == glyf[name].xMin
        areas = signed_areas(font, name)
        outer = max(areas, key=abs)
        assert outer < 0, f"{name}: outer contours must run clockwise"
    # the disc has curves: off-curve points (flag bit 0 clear) after cu2qu
    assert any(not flag & 1 for flag in glyf[f"uni{DISC_CP:04X}"].flags)
    ring = signed_areas(font, f"uni{RING_CP:04X}")
    assert len(ring) == 2 and sorted(ring)[0] < 0 < sorted(ring)[1]

    os2, hhea, head = font["OS/2"], font["hhea"], font["head"]
    assert os2.fsType == 0
    assert (os2.sTypoAscender, os2.sTypoDescender, os2.sTypoLineGap) == (880, -120, 0)
    assert (hhea.ascent, -hhea.descent, hhea.lineGap) == (os2.usWinAscent, os2.usWinDescent, 0)
    assert os2.fsSelection & (1 << 7)  # USE_TYPO_METRICS
    assert os2.ulUnicodeRange2 & (1 << (56 - 32))  # Hangul Syllables
    assert os2.ulCodePageRange1 & (1 << 19)  # Korean Wansung
    assert head.unitsPerEm == 1000
    names = font["name"]
    assert names.getDebugName(1) == "Draft Sans" and names.getDebugName(2) == "Regular"
    assert names.getDebugName(6) == "DraftSans-Regular"
    assert names.getDebugName(13) == "CC0 test licence"
    assert names.getDebugName(3).startswith("1.000;NONE;DraftSans-Regular;")

    # bounds, maxp and hhea were filled without fontTools' recalculation: compare with it
    recalculated = TTFont(str(out), recalcBBoxes=True)
    recalculated["maxp"].recalc(recalculated)
    recalculated["hhea"].recalc(recalculated)
    for field in ("maxPoints", "maxContours", "numGlyphs"):
        assert getattr(font["maxp"], field) == getattr(recalculated["maxp"], field)
    for field in ("xMin", "yMin", "xMax", "yMax"):
        assert getattr(head, field) == getattr(recalculated["head"], field)
    for field in ("advanceWidthMax", "minLeftSideBearing", "minRightSideBearing", "xMaxExtent"):
        assert getattr(hhea, field) == getattr(recalculated["hhea"], field)


def test_outlines_land_where_the_pixels_were(test_font: Path, tmp_path: Path) -> None:
    # 가 is the rectangle (100, 0)-(900, 800) in the test font; traced back from 32 px it
    # must come back within a fraction of a pixel (1 px = 31.25 units)
    rendered = render_face(str(test_font), [ord("가")], size=32)
    out = tmp_path / "box.ttf"
    build_font(GlyphSet(rendered.images, rendered.codepoints, meta=rendered.placement_meta()), out)
    glyph = TTFont(str(out))["glyf"]["uniAC00"]
    for got, want in zip(
        (glyph.xMin, glyph.yMin, glyph.xMax, glyph.yMax), (100, 0, 900, 800), strict=True
    ):
        assert abs(got - want) <= 8


def test_round_trip_of_rectangles_is_near_perfect(test_font: Path, tmp_path: Path) -> None:
    cps = [ord(c) for c in "가나한"]
    for size in (32, 64):
        rendered = render_face(str(test_font), cps, size=size)
        reference = GlyphSet(rendered.images, rendered.codepoints, meta=rendered.placement_meta())
        out = tmp_path / f"rt{size}.ttf"
        build_font(reference, out)
        trip = check.round_trip(out, reference)
        assert trip.compared == 3 and not trip.missing
        assert trip.mean_iou > 0.97


def test_overlaps_are_removed() -> None:
    path = pathops.Path()
    pen = path.getPen()
    for x0, y0, x1, y1 in ((100, 100, 600, 300), (300, 0, 500, 700)):  # a cross
        pen.moveTo((x0, y0))
        pen.lineTo((x1, y0))
        pen.lineTo((x1, y1))
        pen.lineTo((x0, y1))
        pen.closePath()
    _data, bounds, points, contours = outlines.compile_ttf_glyph(path)
    assert contours == 1 and points == 12
    assert bounds == (100, 0, 600, 700)


def test_direct_glyph_encoding_matches_fonttools_pens(glyphs: GlyphSet) -> None:
    params = TraceParams()
    for _cp, path in tracepool.glyph_paths(glyphs.images, glyphs.codepoints, params):
        if isinstance(path, str):
            continue
        clean = pathops.simplify(path, clockwise=True)
        direct = outlines.encode_glyf(outlines.quadratic_contours(clean))
        assert direct == outlines.compile_with_pens(clean)
    # long runs of equal flags (repeat counts past 255) and deltas past one byte
    path = pathops.Path()
    path.moveTo(0, 0)
    for x in range(2, 700, 2):
        path.lineTo(x, 0)
    path.lineTo(700, 700)
    path.lineTo(0, 700)
    path.close()
    direct = outlines.encode_glyf(outlines.quadratic_contours(path))
    assert direct == outlines.compile_with_pens(path)
    assert direct[2] == 352


def test_otf_keeps_cubics_and_passes_ots(glyphs: GlyphSet, outdir: Path) -> None:
    out = outdir / "Draft.otf"
    build_font(glyphs, out, fmt="otf")
    check.sanitize(out)
    font = TTFont(str(out))
    assert "CFF " in font and "glyf" not in font
    name = font.getBestCmap()[DISC_CP]
    assert name == f"uni{DISC_CP:04X}"
    charstring = font["CFF "].cff.topDictIndex[0].CharStrings[name]
    charstring.decompile()
    assert any(isinstance(op, str) and op.endswith("curveto") for op in charstring.program)
    assert font["hmtx"][name][0] == 1000
    head = font["head"]
    assert font["CFF "].cff.topDictIndex[0].FontBBox == [head.xMin, head.yMin, head.xMax, head.yMax]
    assert font["maxp"].numGlyphs == len(font.getGlyphOrder())
    # CFF wants outer contours counter-clockwise
    from fontTools.pens.areaPen import AreaPen

    pen = AreaPen(font.getGlyphSet())
    font.getGlyphSet()[name].draw(pen)
    assert pen.value > 0


def test_fallback_font_lends_latin_and_jamo(glyphs: GlyphSet, outdir: Path) -> None:
    fallback = fontfactory.build_font(outdir / "fallback.ttf", shapes={})
    out = outdir / "Draft.ttf"
    report = build_font(glyphs, out, fallback=fallback)
    font = TTFont(str(out))
    assert ord("A") in report.borrowed and ord("A") in font.getBestCmap()
    assert font["hmtx"]["uni0041"] == (500, 50)


@pytest.mark.parametrize(
    ("family", "message"),
    [
        ("", "family is empty"),
        ("Bad\x07Name", "cannot hold"),
        ("Broken \udcff", "cannot hold"),
        ("x" * 64, "at most 63"),
    ],
)
def test_bad_family_names_are_rejected_before_work(
    glyphs: GlyphSet, outdir: Path, family: str, message: str
) -> None:
    with pytest.raises(VectorError, match=message):
        build_font(glyphs, outdir / "x.ttf", info=FontInfo(family=family))
    assert leftovers(outdir) == []


def test_fit_placement_is_noted(glyphs: GlyphSet, outdir: Path) -> None:
    glyphs.meta["placement"] = "fit"
    report = build_font(glyphs, outdir / "fit.ttf")
    assert len(report.notes) == 1 and "'fit' placement" in report.notes[0]


def test_korean_family_gets_an_ascii_postscript_name(glyphs: GlyphSet, outdir: Path) -> None:
    out = outdir / "k.ttf"
    build_font(glyphs, out, info=FontInfo(family="초안 고딕"))
    names = TTFont(str(out))["name"]
    assert names.getDebugName(1) == "초안 고딕"
    ps = names.getDebugName(6)
    assert ps.startswith("Hangulgan") and ps.isascii() and " " not in ps


def test_non_ribbi_style_uses_typographic_names(glyphs: GlyphSet, outdir: Path) -> None:
    out = outdir / "m.ttf"
    build_font(glyphs, out, info=FontInfo(family="Draft", style="Medium"))
    font = TTFont(str(out))
    names = font["name"]
    assert names.getDebugName(1) == "Draft Medium" and names.getDebugName(2) == "Regular"
    assert names.getDebugName(16) == "Draft" and names.getDebugName(17) == "Medium"
    assert font["OS/2"].usWeightClass == 500


def test_empty_glyph_set_is_an_error(tmp_path: Path) -> None:
    empty = GlyphSet(np.zeros((0, 32, 32), np.uint8), np.zeros(0, np.int32), name="none")
    with pytest.raises(VectorError, match="holds no glyphs"):
        build_font(empty, tmp_path / "x.ttf")
    assert leftovers(tmp_path) == []


def test_all_images_blank_or_solid_is_an_error(tmp_path: Path) -> None:
    images = np.stack([np.zeros((32, 32), np.uint8), np.full((32, 32), 255, np.uint8)])
    blank = GlyphSet(images, np.array([0xAC00, 0xAC01]), name="blank")
    with pytest.raises(VectorError, match=r"no glyph left to export \(2 skipped: all ink, empty"):
        build_font(blank, tmp_path / "x.ttf")
    assert leftovers(tmp_path) == []


def test_non_square_and_control_code_points_are_errors(tmp_path: Path) -> None:
    wide = GlyphSet(np.zeros((1, 32, 40), np.uint8), np.array([0xAC00]))
    with pytest.raises(VectorError, match="32×40"):
        build_font(wide, tmp_path / "x.ttf")
    # a control code point never reaches the builder: the glyph set refuses it
    with pytest.raises(GlyphSetError, match="U\\+000A is not a character a font can map"):
        GlyphSet(np.full((1, 32, 32), 9, np.uint8), np.array([0x0A]))
    assert leftovers(tmp_path) == []


def test_missing_output_folders_are_created(glyphs: GlyphSet, outdir: Path) -> None:
    report = build_font(glyphs, outdir / "new" / "deeper" / "x.ttf")
    assert report.path.is_file()
    with pytest.raises(VectorError, match="is a folder"):
        build_font(glyphs, outdir)
    (outdir / "file").write_text("in the way")
    with pytest.raises(VectorError, match="cannot create folder"):
        build_font(glyphs, outdir / "file" / "x.ttf")
    assert sorted(p.name for p in outdir.iterdir()) == ["file", "new"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permission bits")
def test_unwritable_folder_is_an_error(glyphs: GlyphSet, outdir: Path) -> None:
    locked = outdir / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(VectorError, match="no write permission"):
            build_font(glyphs, locked / "x.ttf")
    finally:
        locked.chmod(0o755)
    assert leftovers(locked) == []


def test_a_failing_write_is_a_clear_error(
    glyphs: GlyphSet, outdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what a full disk or a folder that turns read-only under us does (root passes the
    # permission-bit test above, so the failure is injected where the font is written)
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(TTFont, "save", refuse)
    with pytest.raises(VectorError, match=r"x.ttf: cannot write font \(Permission denied\)"):
        build_font(glyphs, outdir / "x.ttf")
    assert leftovers(outdir) == []


def test_a_font_ots_rejects_never_appears(
    glyphs: GlyphSet, outdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def reject(path: Path, label: str | None = None) -> str:
        raise VectorError(f"{label}: rejected by the OpenType Sanitizer (test)")

    monkeypatch.setattr(check, "sanitize", reject)
    out = outdir / "x.ttf"
    with pytest.raises(VectorError, match="rejected by the OpenType Sanitizer"):
        build_font(glyphs, out)
    assert leftovers(outdir) == []


def test_ots_rejects_a_damaged_font(glyphs: GlyphSet, outdir: Path) -> None:
    out = outdir / "x.ttf"
    build_font(glyphs, out)
    damaged = outdir / "damaged.ttf"
    data = bytearray(out.read_bytes())
    damaged.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(VectorError, match="damaged.ttf: rejected by the OpenType Sanitizer"):
        check.sanitize(damaged)


def test_parallel_build_matches_serial(glyphs: GlyphSet, outdir: Path) -> None:
    # enough glyphs for several chunks: the same images under many code points
    reps = np.resize(np.arange(4), 300)
    images = glyphs.images[reps]
    cps = np.arange(0xAC00, 0xAC00 + 300, dtype=np.int32)
    many = GlyphSet(images, cps, name="many")
    serial = tracepool.trace_glyphs(many.images, many.codepoints, TraceParams(), "ttf", workers=1)
    parallel = tracepool.trace_glyphs(
        many.images, many.codepoints, TraceParams(), "ttf", workers=2, chunk=64
    )
    assert [r.codepoint for r in serial] == [r.codepoint for r in parallel]
    assert [r.data for r in serial] == [r.data for r in parallel]
