"""Exported fonts sit where their source sat: geometry recorded at render time, inverted by
export-ttf, judged against the source font file by check-font --reference."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from fontTools.ttLib import TTFont

from hangulgan.cli import main
from hangulgan.data.corpus import Corpus
from hangulgan.data.glyphset import GlyphSet
from hangulgan.data.placement import Geometry, geometry_of, placement_meta
from hangulgan.data.render import FaceRenderer
from hangulgan.vector import check
from hangulgan.vector.fontbuild import build_font

import fontfactory
from conftest import NANUM, debian_font

# NanumGothic's layout: Hangul advance 940, typo box 800/-200, hhea and win 920/-230; the
# builder used to assume 880/-120 and 1000 for every glyph set.
SOURCE_METRICS = {"advance": 940, "ascender": 800, "descender": -200}
# rectangles with some structure, so a shift of a pixel or two costs IoU
SHAPES = {
    ord("가"): [(60, -40, 380, 760), (520, 300, 880, 400)],
    ord("나"): [(80, 0, 300, 700), (500, 50, 860, 200), (500, 450, 860, 600)],
    ord("한"): [(150, -150, 790, -20), (150, 200, 790, 340), (400, 500, 540, 780)],
}


def run(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture
def source_font(tmp_path: Path) -> Path:
    return fontfactory.build_font(
        tmp_path / "source.ttf", shapes=SHAPES, empty_mapped=False, **SOURCE_METRICS
    )


def corpus_face(font: Path, folder: Path, size: int) -> str:
    code, output = run("render", font, folder, "--size", size, "--quiet")
    assert code == 0, output
    (name,) = Corpus.open(folder).face_names
    return f"{folder}::{name}"


def test_corpus_faces_record_their_geometry(source_font: Path, tmp_path: Path) -> None:
    face = corpus_face(source_font, tmp_path / "corpus", 32)
    corpus = Corpus.open(tmp_path / "corpus")
    assert corpus.manifest["geometry"] == "em-ink-centred"
    geometry = geometry_of(corpus.face(corpus.face_names[0]))
    assert geometry is not None
    assert (geometry.canvas, geometry.em_px, geometry.advance) == (32, 32.0, 940)
    assert geometry.metrics.typo_ascender == 800 and geometry.metrics.hhea_descender == -200
    # ink from -150 to 780 units, centred: the baseline 16 + 10.08 px below the top
    assert geometry.baseline_row == 26
    assert face.endswith("::" + corpus.face_names[0])


def test_export_reproduces_the_source_placement_and_metrics(
    source_font: Path, tmp_path: Path
) -> None:
    for size in (32, 64):
        face = corpus_face(source_font, tmp_path / f"corpus{size}", size)
        out = tmp_path / f"round{size}.ttf"
        code, output = run("export-ttf", face, "--out", out, "--quiet", "--no-specimen")
        assert code == 0, output
        assert "note:" not in output  # the geometry was recorded: nothing to warn about
        trip = check.font_round_trip(out, source_font, size)
        assert trip.compared == 3 and trip.advance_mismatches == 0
        assert trip.mean_iou > 0.95, trip
    font = TTFont(str(out))
    assert font["hmtx"]["uniAC00"][0] == 940
    assert (font["hhea"].ascent, font["hhea"].descent) == (800, -200)
    os2 = font["OS/2"]
    assert (os2.sTypoAscender, os2.sTypoDescender, os2.sTypoLineGap) == (800, -200, 0)
    assert os2.usWinAscent >= 800 and os2.usWinDescent >= 200
    assert not os2.fsSelection & (1 << 7)  # the source does not set USE_TYPO_METRICS


def test_reference_round_trip_sees_a_shifted_font(source_font: Path, tmp_path: Path) -> None:
    # the same drawings 80 units higher and 30 to the right: what export used to do
    shifted = {
        cp: [(x0 + 30, y0 + 80, x1 + 30, y1 + 80) for x0, y0, x1, y1 in rects]
        for cp, rects in SHAPES.items()
    }
    moved = fontfactory.build_font(
        tmp_path / "moved.ttf", shapes=shifted, empty_mapped=False, **SOURCE_METRICS
    )
    assert check.font_round_trip(source_font, source_font, 32).mean_iou == 1.0
    assert check.font_round_trip(moved, source_font, 32).mean_iou < 0.85
    code, output = run("check-font", moved, "--reference", source_font, "--min-iou", "0.9")
    assert code == 1
    assert "round trip 32 px over 3 glyphs against" in output and "mean IoU" in output
    assert "worst" in output and "(< 0.9)" in output


def test_check_font_reference_arguments(source_font: Path, tmp_path: Path) -> None:
    code, output = run("check-font", source_font, "--reference", tmp_path / "none.ttf")
    assert code == 2 and "none.ttf: no such reference font" in output
    code, output = run("check-font", source_font, "--reference", source_font, "--glyphs", "g")
    assert code == 2 and "not both" in output
    other = fontfactory.build_font(
        tmp_path / "other.ttf", shapes={ord("각"): SHAPES[ord("가")]}, empty_mapped=False
    )
    code, output = run("check-font", other, "--reference", source_font)
    assert code == 1 and "maps no Hangul syllable that" in output


def test_glyph_sets_without_geometry_export_as_before_with_a_note(
    source_font: Path, tmp_path: Path
) -> None:
    face = corpus_face(source_font, tmp_path / "corpus", 32)
    glyphs = Corpus.open(tmp_path / "corpus").face(face.split("::")[1])
    meta = {k: v for k, v in glyphs.meta.items() if k != "geometry"}
    old = GlyphSet(np.asarray(glyphs.images), glyphs.codepoints, name="old", meta=meta)
    folder = old.save(tmp_path / "old")
    code, output = run("export-ttf", folder, "--out", tmp_path / "old.ttf", "--quiet")
    assert code == 0, output
    assert "records no placement geometry" in output
    font = TTFont(str(tmp_path / "old.ttf"))
    # the legacy reading: advance 1000, typo 880/-120, the canvas top 880 units up
    assert font["hmtx"]["uniAC00"][0] == 1000
    assert (font["OS/2"].sTypoAscender, font["OS/2"].sTypoDescender) == (880, -120)
    trip = check.round_trip(tmp_path / "old.ttf", old)
    assert trip.mean_iou > 0.9


def test_unreadable_geometry_is_a_one_line_error(source_font: Path, tmp_path: Path) -> None:
    face = corpus_face(source_font, tmp_path / "corpus", 32)
    folder = tmp_path / "corpus" / "faces" / face.split("::")[1]
    header = json.loads((folder / "glyphset.json").read_text())
    header["meta"]["geometry"]["em_px"] = "big"
    (folder / "glyphset.json").write_text(json.dumps(header))
    code, output = run("export-ttf", face, "--out", tmp_path / "x.ttf", "--quiet")
    assert code == 2 and "unreadable placement geometry" in output
    assert len(output.strip().splitlines()) == 1


def test_placement_meta_follows_a_corpus_a_face_or_several(tmp_path: Path) -> None:
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    for name, dy in (("a", 0), ("b", -100), ("c", -200)):
        shapes = {
            cp: [(x0, y0 + dy, x1, y1 + dy) for x0, y0, x1, y1 in rects]
            for cp, rects in SHAPES.items()
        }
        fontfactory.build_font(fonts / f"{name}.ttf", shapes=shapes, family=f"Face {name}")
    code, output = run("render", fonts, tmp_path / "corpus", "--quiet")
    assert code == 0, output
    corpus = Corpus.open(tmp_path / "corpus")
    rows = {name: geometry_of(corpus.face(name)).baseline_row for name in corpus.face_names}
    assert len(set(rows.values())) == 3
    median = sorted(rows, key=lambda n: (rows[n], n))[1]
    assert placement_meta(corpus)["geometry"] == corpus.face(median).meta["geometry"]
    one = corpus.face_names[0]
    assert placement_meta(corpus, face=one) == {
        "placement": "em",
        "geometry": corpus.face(one).meta["geometry"],
    }
    assert placement_meta(corpus.face(one)) == placement_meta(corpus, face=one)
    assert placement_meta(GlyphSet(np.zeros((1, 8, 8), np.uint8), [0xAC00])) == {}
    fit = GlyphSet(np.zeros((1, 8, 8), np.uint8), [0xAC00], meta={"placement": "fit"})
    assert placement_meta([fit, fit]) == {"placement": "fit"}


def test_sampled_glyph_sets_inherit_the_corpus_geometry(source_font: Path, tmp_path: Path) -> None:
    face = corpus_face(source_font, tmp_path / "corpus", 16)
    run_dir = tmp_path / "run"
    code, output = run(
        "train", "dcgan", "--corpus", tmp_path / "corpus", "--run", run_dir, "--steps", "1",
        "--conditional", "--batch", "4", "--no-progress", "--sample-every", "0", "--grid", "4",
    )  # fmt: skip
    assert code == 0, output
    code, output = run("sample", run_dir, "--out-set", tmp_path / "glyphs", "--text", "가나")
    assert code == 0, output
    sampled = GlyphSet.load(tmp_path / "glyphs")
    source = Corpus.open(tmp_path / "corpus").face(face.split("::")[1])
    assert sampled.meta["placement"] == "em"
    assert sampled.meta["geometry"] == source.meta["geometry"]
    assert geometry_of(sampled) == Geometry.from_meta(source.meta["geometry"])
    # a run saved before the geometry was recorded in its config reads it from its corpus
    config = json.loads((run_dir / "config.json").read_text())
    del config["data_info"]["placement"]
    (run_dir / "config.json").write_text(json.dumps(config))
    code, output = run("sample", run_dir, "--out-set", tmp_path / "old", "--text", "가")
    assert code == 0, output
    assert GlyphSet.load(tmp_path / "old").meta["geometry"] == source.meta["geometry"]


def test_hangul_and_fallback_latin_share_the_baseline(tmp_path: Path) -> None:
    source = debian_font(NANUM / "NanumGothic.ttf")
    size = 64
    renderer = FaceRenderer(str(source), size=size)
    rendered = renderer.render([ord(c) for c in "한글가나다"])
    glyphs = GlyphSet(rendered.images, rendered.codepoints, meta=rendered.placement_meta())
    out = tmp_path / "Round.ttf"
    build_font(glyphs, out, fallback=source)

    def bottoms(font: Path) -> dict[str, int]:
        """The lowest ink row of 'H', '_' and each syllable, on one baseline."""
        layout = {"canvas": 2 * size, "baseline_row": 96, "origin_x": 32}
        result = FaceRenderer(str(font), size=size, **layout).render(
            [ord(c) for c in "H한글가나다"]
        )
        return {
            chr(cp): int(np.flatnonzero(image.max(axis=1) >= 128)[-1])
            for cp, image in zip(result.codepoints, result.images, strict=True)
        }

    ours, theirs = bottoms(out), bottoms(source)
    assert abs(ours["H"] - theirs["H"]) <= 0  # borrowed as it is
    for syllable in "한글가나다":
        # the syllable's bottom relative to the Latin letter's, as in the source
        assert abs((ours[syllable] - ours["H"]) - (theirs[syllable] - theirs["H"])) <= 1


def test_a_corpus_without_geometry_is_not_resumed_under_the_new_rule(
    source_font: Path, tmp_path: Path
) -> None:
    corpus_face(source_font, tmp_path / "corpus", 32)
    manifest = tmp_path / "corpus" / "manifest.json"
    old = json.loads(manifest.read_text())
    del old["geometry"]  # as written before the rule was recorded
    manifest.write_text(json.dumps(old))
    code, output = run("render", source_font, tmp_path / "corpus", "--size", 32, "--quiet")
    assert code == 2 and "geometry" in output and "--force" in output


def test_per_glyph_advances_place_each_glyph_in_worker_processes(tmp_path: Path) -> None:
    # a proportional face: every other syllable is 600 units wide instead of 1000; its
    # glyph was centred on that advance (pen 6 px in at 32 px, not 0), so it comes back 6 px
    # = 187.5 units further left in the font, with its own advance
    count = 300  # more than one chunk, so two worker processes trace it
    images = np.zeros((count, 32, 32), np.uint8)
    images[:, 8:24, 10:22] = 255
    cps = np.arange(0xAC00, 0xAC00 + count)
    narrow = {int(cp): 600 for cp in cps[1::2]}
    geometry = Geometry(canvas=32, em_px=32.0, baseline_row=26.0, advance=1000, advances=narrow)
    glyphs = GlyphSet(images, cps, meta={"placement": "em", "geometry": geometry.to_meta()})
    build_font(glyphs, tmp_path / "p.ttf", workers=2)
    font = TTFont(str(tmp_path / "p.ttf"))
    hmtx, glyf = font["hmtx"], font["glyf"]
    wide, thin = "uniAC00", "uniAC01"
    assert hmtx[wide][0] == 1000 and hmtx[thin][0] == 600
    # (the tracing moves an edge by a few units at most)
    assert abs(glyf[wide].xMin - 10 * 1000 / 32) <= 8  # pen at the canvas edge
    assert abs(glyf[thin].xMin - (10 - 6) * 1000 / 32) <= 8
    assert abs(glyf[wide].xMin - glyf[thin].xMin - 6 * 1000 / 32) <= 1  # the same image
    assert hmtx[thin][1] == glyf[thin].xMin  # the bearing FreeType places it by
    assert abs(glyf[wide].yMax - (26 - 8) * 1000 / 32) <= 8
