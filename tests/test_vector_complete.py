"""``complete``: what it keeps renders exactly as in the source, and what it writes is
recognisably a different font from the source."""

from __future__ import annotations

from pathlib import Path

import freetype
import numpy as np
import pytest
from click.testing import CliRunner
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont
from fontTools.ttLib.tables._g_l_y_f import Glyph, GlyphComponent

from hangulgan import hangul
from hangulgan.cli import main

UPM = 1000
# the syllables the source draws: composites of jamo glyphs, as handwriting fonts build them
KEPT = [hangul.ksx1001_syllables()[i] for i in range(0, 2350, 90)]
# what complete adds (not in KEPT)
ADDED = [ord(c) for c in "뷁똠"]
STALE_SHIFT = 37  # font units the stored boxes of the composites are off by


def _rect_glyph(rects: list[tuple[int, int, int, int]]) -> Glyph:
    pen = TTGlyphPen(None)
    for x0, y0, x1, y1 in rects:
        pen.moveTo((x0, y0))
        pen.lineTo((x0, y1))
        pen.lineTo((x1, y1))
        pen.lineTo((x1, y0))
        pen.closePath()
    return pen.glyph()


def _jamo_shapes(cp: int) -> list[tuple[str, int, int]]:
    """(component, dx, dy) of a syllable: its initial, medial and final as three bars whose
    offsets depend on the jamo indices, so every syllable has its own shape and box."""
    initial, medial, final = hangul.decompose(cp)
    parts = [(f"ini{initial}", 60 + 7 * initial, 420), (f"med{medial}", 520 + 5 * medial, 40)]
    if final:
        parts.append((f"fin{final}", 90 + 3 * final, -60))
    return parts


def build_stale_box_font(path: Path) -> Path:
    """A TrueType font whose syllables are composite glyphs of jamo pieces, each composite's
    stored header box off by STALE_SHIFT units from its real extent (as in fonts whose
    boxes an older tool wrote), saved without recomputing them."""
    pieces: dict[str, Glyph] = {}
    for i in range(19):
        pieces[f"ini{i}"] = _rect_glyph([(0, 0, 300 + 5 * i, 120), (0, 200, 80, 380)])
    for i in range(21):
        pieces[f"med{i}"] = _rect_glyph([(0, 0, 90, 760 - 6 * i)])
    for i in range(1, 28):
        pieces[f"fin{i}"] = _rect_glyph([(0, 0, 600 - 4 * i, 100)])
    order = [".notdef", "space", *pieces]
    glyphs: dict[str, Glyph] = {
        ".notdef": _rect_glyph([(50, 0, 450, 700)]),
        "space": _rect_glyph([]),
        **pieces,
    }
    cmap = {0x20: "space"}
    for cp in KEPT:
        name = f"uni{cp:04X}"
        glyph = Glyph()
        glyph.numberOfContours = -1
        glyph.components = []
        for base, dx, dy in _jamo_shapes(cp):
            component = GlyphComponent()
            component.glyphName, component.x, component.y = base, dx, dy
            component.flags = 0x4  # ROUND_XY_TO_GRID
            glyph.components.append(component)
        glyphs[name] = glyph
        order.append(name)
        cmap[cp] = name
    fb = FontBuilder(UPM, isTTF=True)
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap(cmap)
    fb.setupGlyf(glyphs)
    glyf = fb.font["glyf"]
    metrics = {}
    for name in order:
        glyph = glyf[name]
        if glyph.numberOfContours:
            glyph.recalcBounds(glyf)
        metrics[name] = (1000, getattr(glyph, "xMin", 0))  # lsb: the real left edge
    for cp in KEPT:
        glyph = glyf[f"uni{cp:04X}"]
        glyph.xMin += STALE_SHIFT
        glyph.xMax += STALE_SHIFT
        glyph.yMin -= STALE_SHIFT
        glyph.yMax -= STALE_SHIFT
    fb.setupHorizontalMetrics(metrics)
    fb.setupHorizontalHeader(ascent=880, descent=-120)
    fb.setupNameTable(
        {
            "familyName": {"en": "Stale Box", "ko": "낡은 상자"},
            "styleName": "Regular",
            "uniqueFontIdentifier": "1.000;NONE;StaleBox-Regular",
            "fullName": {"en": "Stale Box Regular", "ko": "낡은 상자 Regular"},
            "psName": "StaleBox-Regular",
            "typographicFamily": "Stale Box",
            "typographicSubfamily": "Regular",
        }
    )
    fb.setupOS2(sTypoAscender=880, sTypoDescender=-120, usWinAscent=1000, usWinDescent=200)
    fb.setupPost()
    fb.font.recalcBBoxes = False
    fb.font["head"].flags |= 0x2  # "lsb = xMin", which the stale boxes contradict
    fb.save(str(path))
    saved = TTFont(str(path))
    assert saved["glyf"][f"uni{KEPT[0]:04X}"].xMin == metrics[f"uni{KEPT[0]:04X}"][1] + STALE_SHIFT
    return path


def freetype_renderings(path: Path, codepoints: list[int], size: int, hinted: bool) -> list:
    """FreeType's bitmap, its offsets and the advance of each code point."""
    face = freetype.Face(str(path))
    face.set_pixel_sizes(0, size)
    flags = freetype.FT_LOAD_RENDER | (0 if hinted else freetype.FT_LOAD_NO_HINTING)
    out = []
    for cp in codepoints:
        face.load_char(chr(cp), flags)
        slot = face.glyph
        bitmap = slot.bitmap
        pixels = np.array(bitmap.buffer, dtype=np.uint8).reshape(bitmap.rows, bitmap.pitch)
        out.append(
            (pixels.tobytes(), bitmap.rows, slot.bitmap_left, slot.bitmap_top, slot.advance.x)
        )
    return out


@pytest.fixture(scope="module")
def completed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    folder = tmp_path_factory.mktemp("complete")
    source = build_stale_box_font(folder / "StaleBox.ttf")
    charset = folder / "want.txt"
    charset.write_text("".join(map(chr, ADDED)), encoding="utf-8")
    out = folder / "StaleBox-Complete.ttf"
    args = ["complete", str(source), "--out", str(out), "--charset", str(charset)]
    result = CliRunner().invoke(main, [*args, "--finetune-steps", "0", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "2 added" in result.output
    return source, out, result.output


@pytest.mark.parametrize("hinted", [False, True])
@pytest.mark.parametrize("size", [16, 32, 48])
def test_kept_syllables_render_bit_identically(completed, size: int, hinted: bool) -> None:
    source, out, _output = completed
    before = freetype_renderings(source, KEPT, size, hinted)
    after = freetype_renderings(out, KEPT, size, hinted)
    moved = [chr(cp) for cp, a, b in zip(KEPT, before, after, strict=True) if a != b]
    assert not moved, f"{len(moved)} of {len(KEPT)} kept syllables render differently"
    assert all(rows for _pixels, rows, *_rest in after)  # they draw ink at all


def test_kept_glyph_headers_and_head_flags_are_kept(completed) -> None:
    source, out, _output = completed
    before, after = TTFont(str(source)), TTFont(str(out))
    for cp in KEPT:
        name = before.getBestCmap()[cp]
        old, new = before["glyf"][name], after["glyf"][name]
        assert (new.xMin, new.yMin, new.xMax, new.yMax) == (old.xMin, old.yMin, old.xMax, old.yMax)
    assert after["head"].flags == before["head"].flags
    # the added glyphs do carry their real boxes, and the font box holds them
    head = after["head"]
    for cp in ADDED:
        glyph = after["glyf"][after.getBestCmap()[cp]]
        real = (glyph.xMin, glyph.yMin, glyph.xMax, glyph.yMax)
        glyph.recalcBounds(after["glyf"])
        assert real == (glyph.xMin, glyph.yMin, glyph.xMax, glyph.yMax)
        assert head.xMin <= glyph.xMin and head.yMin <= glyph.yMin
        assert head.xMax >= glyph.xMax and head.yMax >= glyph.yMax
    assert after["maxp"].numGlyphs == len(after.getGlyphOrder())


def names_by_id(path: Path) -> dict[int, set[str]]:
    """Every spelling of each name ID, all platforms and languages together."""
    out: dict[int, set[str]] = {}
    for record in TTFont(str(path))["name"].names:
        out.setdefault(record.nameID, set()).add(record.toUnicode())
    return out


def test_completed_font_has_a_family_of_its_own(completed) -> None:
    source, out, output = completed
    before, after = names_by_id(source), names_by_id(out)
    for name_id in (1, 3, 4, 6, 16):
        assert after[name_id] and not after[name_id] & before[name_id], name_id
    assert after[2] == before[2] == {"Regular"} and after[17] == before[17]
    name = TTFont(str(out))["name"]
    assert name.getName(1, 3, 1, 0x409).toUnicode() == "Stale Box Complete"
    assert name.getName(16, 3, 1, 0x409).toUnicode() == "Stale Box Complete"
    assert name.getName(4, 3, 1, 0x409).toUnicode() == "Stale Box Complete Regular"
    assert name.getName(1, 3, 1, 0x412).toUnicode() == "낡은 상자 Complete"  # Korean, too
    assert after[6] == {"StaleBoxComplete-Regular"}
    assert "family 'Stale Box Complete', PostScript name StaleBoxComplete-Regular" in output


def test_family_option_names_the_font_and_progress_bars_can_be_turned_off(
    completed, tmp_path: Path
) -> None:
    source, _out, output = completed
    assert "tracing:" in output  # the fixture's run drew its bars (--progress is the default)
    charset = tmp_path / "want.txt"
    charset.write_text(chr(ADDED[0]), encoding="utf-8")
    out = tmp_path / "Hand.ttf"
    args = ["complete", str(source), "--charset", str(charset), "--finetune-steps", "0"]
    result = CliRunner().invoke(
        main, [*args, "--out", str(out), "--family", "Hand Made", "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert "tracing:" not in result.output and "drawing:" not in result.output
    after = names_by_id(out)
    assert after[1] == after[16] == {"Hand Made"}  # every language: the user's name
    assert after[6] == {"HandMade-Regular"}


@pytest.mark.parametrize(
    ("family", "message"),
    [("Stale Box", "names of its source"), ("Bad\x07", "cannot hold")],
)
def test_family_option_refuses_the_sources_name(
    completed, tmp_path: Path, family: str, message: str
) -> None:
    source = completed[0]
    out = tmp_path / "x.ttf"
    result = CliRunner().invoke(
        main, ["complete", str(source), "--out", str(out), "--family", family, "--no-progress"]
    )
    assert result.exit_code == 2, result.output
    assert message in result.output and not out.exists()


def test_force_replaces_only_a_font_complete_made(completed, tmp_path: Path) -> None:
    source, out, _output = completed
    charset = tmp_path / "want.txt"
    charset.write_text(chr(ADDED[0]), encoding="utf-8")
    args = ["complete", str(source), "--charset", str(charset), "--finetune-steps", "0"]
    users = tmp_path / "Users.ttf"
    users.write_bytes(source.read_bytes())  # a font of the user's, not one complete made
    for flags in ([], ["--force"]):
        result = CliRunner().invoke(main, [*args, "--out", str(users), "--no-progress", *flags])
        assert result.exit_code == 2, result.output
        assert ("is not a font complete made" if flags else "already exists") in result.output
    assert users.read_bytes() == source.read_bytes()
    # a font complete wrote is replaced
    again = tmp_path / "Again.ttf"
    again.write_bytes(out.read_bytes())
    result = CliRunner().invoke(main, [*args, "--out", str(again), "--no-progress", "--force"])
    assert result.exit_code == 0, result.output
    assert again.read_bytes() != out.read_bytes()


def test_rename_family_in_every_language_and_platform(tmp_path: Path) -> None:
    from hangulgan.vector.rename import rename_family

    font = TTFont(str(build_stale_box_font(tmp_path / "s.ttf")))
    names = rename_family(font, "손글씨", "s.ttf", 1.0)
    assert names.family == "손글씨" and names.postscript_name.startswith("Hangulgan")
    table = font["name"]
    assert {r.toUnicode() for r in table.names if r.nameID in (1, 16)} == {"손글씨"}
    # Mac Roman cannot spell it: the Mac records of the family go, the Windows ones stay
    assert not [r for r in table.names if r.nameID in (1, 4, 16) and r.platformID == 1]
    assert table.getName(6, 1, 0, 0).toUnicode() == names.postscript_name  # ASCII: kept
    assert table.getName(2, 3, 1, 0x409).toUnicode() == "Regular"
    other = TTFont(str(tmp_path / "s.ttf"))
    assert rename_family(other, "Other Hand", "s.ttf", 1.0).postscript_name == "OtherHand-Regular"
