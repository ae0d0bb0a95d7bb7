"""``ocr-export`` sources beyond corpora: fonts rendered on the fly, styles drawn by the
styled model (``--styles``), and splits that keep a design together (``--by style``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_ocr_export import read_gt, run

from hangulgan.errors import ConfigError
from hangulgan.ocr.fonts import FontSource
from hangulgan.ocr.setting import render_text
from hangulgan.ocr.sources import open_sources, open_spec, resolve
from hangulgan.ocr.styles import parse_style_spec, random_style_seed, styled_glyphsets

NANUM = Path("/usr/share/fonts/truetype/nanum")
GOTHIC = NANUM / "NanumGothic.ttf"
BOLD = NANUM / "NanumGothicBold.ttf"
MYEONGJO = NANUM / "NanumMyeongjo.ttf"
TEXT = "다람쥐 헌 쳇바퀴에 타고파\n한글 글꼴\n"


def need(*fonts: Path) -> None:
    for font in fonts:
        if not font.exists():
            pytest.skip(f"{font} not installed (run make fonts)")


def test_a_corpus_face_is_set_from_its_font_within_the_corpus_charset(tmp_path):
    need(GOTHIC)
    charset = tmp_path / "charset.txt"
    charset.write_text("가나다한글", encoding="utf-8")
    result = run(
        "render", str(GOTHIC), str(tmp_path / "corpus"), "--charset", str(charset), "--quiet"
    )
    assert result.exit_code == 0, result.output
    (font,) = open_sources([str(GOTHIC)], tmp_path / "fonts")
    (face,) = open_sources([str(tmp_path / "corpus")], tmp_path / "fonts")
    assert font.name == face.name == "NanumGothic"
    assert font.main.path == face.main.path == GOTHIC  # the font file itself, not a copy
    # the corpus's syllables only (held-out syllables stay out), the font's other characters
    assert face.holds("한글 가나다") and not face.holds("라") and font.holds("라")
    assert face.holds("가 1,000 (ABC)") and face.holds("010-1234-5678")
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(
        render_text(font, "한글 가나", 32, None, rng), render_text(face, "한글 가나", 32, None, rng)
    )


def test_a_web_font_corpus_face_is_set_from_its_subset_files(tmp_path):
    """A corpus face rendered from a folder of web-font subsets is set from those files (it
    was traced from its 32-px glyphs before, a needless loss)."""
    gaegu = Path("fonts/web/gaegu/400")
    if not gaegu.is_dir():
        pytest.skip("fonts/web/gaegu/400 not fetched (run make fonts)")
    charset = tmp_path / "charset.txt"
    charset.write_text("가나다한글", encoding="utf-8")
    result = run(
        "render", str(gaegu), str(tmp_path / "corpus"), "--charset", str(charset), "--quiet"
    )
    # the subset files that hold none of the charset are part of the face, not skips
    assert result.exit_code == 0 and "0 skipped" in result.output, result.output
    (font,) = open_sources([str(gaegu)], tmp_path / "fonts")
    notes: list[str] = []
    (spec,) = resolve([str(tmp_path / "corpus")], tmp_path / "fonts", note=notes.append)
    assert spec.origin == "corpus font" and not notes
    assert {Path(path).parent for path, _ in spec.faces} == {gaegu.resolve()}
    assert len(spec.faces) > 50  # every subset file with Hangul, each with its own slice
    face = open_spec(spec)
    assert not (tmp_path / "fonts").exists() or not list((tmp_path / "fonts").iterdir())
    assert face.holds("한글 가나") and not face.holds("라") and font.holds("라")
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(
        render_text(font, "한글 가나", 32, None, rng), render_text(face, "한글 가나", 32, None, rng)
    )


def test_a_font_that_lacks_a_syllable_is_never_used_for_it(tmp_path):
    """A Gaegu web-font subset maps KS X 1001 only: text with a syllable outside it comes
    only from the source that holds it."""
    gaegu = Path("fonts/web/gaegu/400")
    need(GOTHIC)
    if not gaegu.is_dir():
        pytest.skip("fonts/web/gaegu/400 not fetched (run make fonts)")
    rare = "똠"  # not in KS X 1001
    sources = open_sources([str(gaegu), str(GOTHIC)], tmp_path / "fonts")
    assert not sources[0].holds(rare) and sources[1].holds(rare)
    text = tmp_path / "lines.txt"
    text.write_text(f"{rare}방\n한글\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run(
        "ocr-export", str(gaegu), str(GOTHIC), "--text", str(text), "--count", "40",
        "--out", str(out), "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {s["design"] for s in manifest["sources"]} == {"Gaegu", "NanumGothic"}
    labels = [label for _, label in read_gt(out / "gt")]
    assert labels.count(f"{rare}방") == 20
    assert manifest["splits"]["all"]["per_source"]["NanumGothic"] >= 20


def test_style_spec_parsing():
    assert [r.kind for r in parse_style_spec("random:3, NanumPen ,A:0.5+B:0.5")] == [
        "random",
        "face",
        "mix",
    ]
    assert parse_style_spec("random:3")[0].count == 3
    for bad in ("random:x", "random:0", "A:half", ","):
        with pytest.raises(ConfigError):
            parse_style_spec(bad)
    assert random_style_seed(0, 1) != random_style_seed(0, 2) != random_style_seed(1, 1)


def styled_sources(spec: str, seed: int, texts: list[str], scratch: Path) -> list[FontSource]:
    """The styles of ``spec`` built into fonts, as ocr-export sets text from them."""
    return open_sources([], scratch, styled_glyphsets(spec, seed, texts))


def test_styles_are_drawn_for_the_text_and_differ_by_seed(tmp_path):
    texts = ["한글 글꼴", "다람쥐"]
    first = styled_sources("random:2,NanumPen", 0, texts, tmp_path / "a")
    again = styled_sources("random:2", 0, texts, tmp_path / "b")
    other = styled_sources("random:2", 1, texts, tmp_path / "c")
    assert [s.name for s in first] == ["style-random-0001", "style-random-0002", "style-NanumPen"]
    # each style is a font of the text's syllables, set like any font
    assert all(s.holds("한글꼴다람쥐") and not s.holds("가") for s in first)

    def drawn(source: FontSource) -> np.ndarray:
        return render_text(source, "한글 글꼴", 32, None, np.random.default_rng(0))

    np.testing.assert_array_equal(drawn(first[0]), drawn(again[0]))  # same seed, same style
    assert not np.array_equal(drawn(first[0]), drawn(other[0]))
    assert not np.array_equal(drawn(first[0]), drawn(first[1]))
    assert all((drawn(s) < 128).sum() > 100 for s in first)  # ink, and distinct designs
    assert len({s.group for s in first}) == 3


def test_styles_only_export_with_unknown_face_refused(tmp_path):
    text = tmp_path / "lines.txt"
    text.write_text(TEXT, encoding="utf-8")
    out = tmp_path / "styles"
    result = run(
        "ocr-export", "--styles", "random:3", "--text", str(text), "--kind", "lines",
        "--count", "12", "--out", str(out), "--quiet", "--format", "gt,lmdb",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [s["name"] for s in manifest["sources"]] == [f"style-random-000{i}" for i in (1, 2, 3)]
    assert sum(manifest["splits"]["all"]["per_source"].values()) == 12
    assert {label for _, label in read_gt(out / "gt")} <= set(TEXT.strip().splitlines())
    result = run("ocr-export", "--styles", "NoSuchFace", "--count", "2", "--out", str(out))
    assert result.exit_code == 2 and "NoSuchFace" in result.output
    result = run("ocr-export", "--count", "2", "--out", str(tmp_path / "none"))
    assert result.exit_code == 2 and "no source" in result.output


@pytest.mark.parametrize("seed", range(6))
def test_split_by_style_keeps_a_family_together(tmp_path, seed):
    """NanumGothic and its Bold are one design: --by style never puts them in two splits
    (--by face does, for some seeds: checked below over the same seeds)."""
    need(GOTHIC, BOLD, MYEONGJO)
    sources = [str(GOTHIC), str(BOLD), str(MYEONGJO)]
    out = tmp_path / "by-style"
    args = ["--count", "8", "--split", "0.5,0.5", "--seed", str(seed), "--quiet", "--force"]
    result = run("ocr-export", *sources, "--out", str(out), "--by", "style", *args)
    assert result.exit_code == 0, result.output
    splits = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["splits"]
    gothic = [name for name, split in splits.items() if "NanumGothic" in split["sources"]]
    bold = [name for name, split in splits.items() if "NanumGothicBold" in split["sources"]]
    assert gothic == bold
    assert splits["train"]["sources"] and splits["val"]["sources"]


def test_split_by_face_can_separate_a_family(tmp_path):
    need(GOTHIC, BOLD, MYEONGJO)
    sources = [str(GOTHIC), str(BOLD), str(MYEONGJO)]
    apart = 0
    for seed in range(6):
        out = tmp_path / f"by-face-{seed}"
        args = ["--count", "8", "--split", "0.5,0.5", "--seed", str(seed), "--quiet"]
        result = run("ocr-export", *sources, "--out", str(out), "--by", "face", *args)
        assert result.exit_code == 0, result.output
        splits = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["splits"]
        train = splits["train"]["sources"]
        apart += ("NanumGothic" in train) != ("NanumGothicBold" in train)
    assert apart > 0


def test_workers_write_what_the_merged_shards_would(tmp_path):
    """--workers 2 is shard 1/2 and 2/2 made side by side and merged: the same labels and
    the same image bytes, styles drawn once and read by both workers."""
    need(GOTHIC)
    common = [str(GOTHIC), "--styles", "random:1", "--count", "30", "--augment"]
    common += ["--format", "gt,lmdb", "--split", "0.5,0.5", "--quiet"]
    result = run("ocr-export", *common, "--workers", "2", "--out", str(tmp_path / "w"))
    assert result.exit_code == 0, result.output
    for i in (1, 2):
        result = run("ocr-export", *common, "--shard", f"{i}/2", "--out", str(tmp_path / f"s{i}"))
        assert result.exit_code == 0, result.output
    result = run(
        "ocr-merge", str(tmp_path / "s1"), str(tmp_path / "s2"), "--out", str(tmp_path / "m")
    )
    assert result.exit_code == 0, result.output
    for split in ("train", "val"):
        made = read_gt(tmp_path / "w" / "gt" / split)
        merged = read_gt(tmp_path / "m" / "gt" / split)
        assert made == merged and len(made) == 15
        for path, _ in made:
            assert (tmp_path / "w" / "gt" / split / path).read_bytes() == (
                tmp_path / "m" / "gt" / split / path
            ).read_bytes()
    manifest = json.loads((tmp_path / "w" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["workers"] == 2 and manifest["source_refs"][-1] == "--styles random:1"
    assert {s["name"] for s in manifest["sources"]} == {"NanumGothic", "style-random-0001"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # scratch removed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "0"], "--workers 0"),
        (["--workers", "2", "--shard", "1/2"], "--workers with --shard"),
    ],
)
def test_bad_worker_options(tmp_path, args, message):
    need(GOTHIC)
    result = run("ocr-export", str(GOTHIC), "--count", "4", "--out", str(tmp_path / "o"), *args)
    assert result.exit_code == 2 and message in result.output
