"""`hangulgan evaluate` on glyph sets and runs, through the CLI, bad input included; what
--force may replace of evaluate's, classifier-export's and corpus preview's outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hangulgan.data.corpus import Corpus
from hangulgan.data.glyphset import GlyphSet

from conftest import NANUM, debian_font, run_cli

TEXT = "가나다라마바아사자차타파하전미정한글꼴각난닫"


def one_error_line(code: int, out: str, words: str) -> None:
    assert code == 2, out
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), out
    assert words in lines[0], out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    fonts = tmp_path_factory.mktemp("fonts")
    for name in ("NanumGothic.ttf", "NanumGothicBold.ttf", "NanumMyeongjo.ttf"):
        (fonts / name).symlink_to(debian_font(NANUM / name))
    folder = tmp_path_factory.mktemp("corpus") / "c"
    text = fonts / "charset.txt"
    text.write_text(TEXT, encoding="utf-8")
    code, out = run_cli("render", fonts, folder, "--charset", text, "--quiet", "--workers", "1")
    assert code == 0, out
    return folder


FAST = ("--batch", "8", "--no-progress", "--sample-every", "0", "--grid", "4", "--threads", "1")


@pytest.fixture(scope="module")
def classifier(corpus, tmp_path_factory) -> Path:
    """A content classifier of one training step: measures nothing well, but is real."""
    folder = tmp_path_factory.mktemp("classifier")
    run = folder / "run"
    code, out = run_cli(
        "train", "classifier", "--corpus", corpus, "--holdout-faces", "NanumMyeongjo",
        "--steps", "1", "--run", run, *FAST,
    )  # fmt: skip
    assert code == 0, out
    code, out = run_cli("classifier-export", run, "--out", folder / "content")
    assert code == 0, out
    return folder / "content"


def test_glyph_set_against_a_corpus_face_with_baselines(tmp_path, corpus, classifier):
    myeongjo = Corpus.open(corpus).face("NanumMyeongjo")
    generated = myeongjo.subset([ord(c) for c in "가나다라마바사"])
    generated.name = "generated"
    generated.save(tmp_path / "gen")
    report_path = tmp_path / "report.json"
    code, out = run_cli(
        "evaluate", tmp_path / "gen", "--real", f"{corpus}::NanumGothic",
        "--classifier", classifier, "--json", report_path, "--sheet", tmp_path / "sheet.png",
    )  # fmt: skip
    assert code == 0, out
    assert "compared on the 7 code points" in out
    report = json.loads(report_path.read_text())
    rows = report["rows"]
    assert list(rows)[0] == "generated"
    assert "copy NanumGothic" in rows
    # The nearest face is never the real face itself.
    nearest = [name for name in rows if name.startswith("copy nearest face")]
    assert nearest == ["copy nearest face (NanumGothicBold)"]
    assert rows["copy NanumGothic"]["l1"] == pytest.approx(0.0)
    assert rows["copy NanumGothic"]["ssim"] == pytest.approx(1.0, abs=1e-6)
    assert rows["copy NanumGothic"]["glyph_fid"] == pytest.approx(0.0, abs=1e-6)
    generated_row = rows["generated"]
    assert generated_row["count"] == 7
    assert generated_row["l1"] > 0.01
    for key in ("content_accuracy", "glyph_fid", "ms_ssim", "psnr", "ink_iou", "rmse"):
        assert key in generated_row
    assert (tmp_path / "sheet.png").stat().st_size > 0


def test_glyph_sets_of_another_size_are_resized_with_a_note(tmp_path, corpus, classifier):
    gothic = Corpus.open(corpus).face("NanumGothic")
    images = np.repeat(np.repeat(np.asarray(gothic.images), 2, axis=1), 2, axis=2)
    GlyphSet(images=images, codepoints=gothic.codepoints, name="big").save(tmp_path / "big")
    code, out = run_cli(
        "evaluate", tmp_path / "big", "--real", f"{corpus}::NanumGothic",
        "--classifier", classifier, "--no-baselines",
    )  # fmt: skip
    assert code == 0, out
    assert "resized (bilinear) to 32×32" in out
    assert "copy NanumGothic" not in out


def test_bad_input(tmp_path, corpus, classifier):
    empty = GlyphSet(images=np.zeros((0, 32, 32), np.uint8), codepoints=[], name="empty")
    empty.save(tmp_path / "empty")
    code, out = run_cli(
        "evaluate", tmp_path / "empty", "--real", f"{corpus}::NanumGothic",
        "--classifier", classifier,
    )  # fmt: skip
    one_error_line(code, out, "empty: glyph set has no code points")

    code, out = run_cli("evaluate", tmp_path / "nothing", "--real", f"{corpus}::NanumGothic")
    one_error_line(code, out, "no such glyph set folder")

    code, out = run_cli("evaluate", f"{corpus}::NanumGothic", "--classifier", classifier)
    one_error_line(code, out, "give --real")

    code, out = run_cli("evaluate")
    one_error_line(code, out, "give TARGET")

    # A classifier for another glyph size: one line naming the file and both sizes.
    meta_path = classifier.with_suffix(".json")
    other = tmp_path / "other"
    other.with_suffix(".safetensors").write_bytes(
        classifier.with_suffix(".safetensors").read_bytes()
    )
    meta = json.loads(meta_path.read_text())
    other.with_suffix(".json").write_text(json.dumps(meta | {"height": 64, "width": 64}))
    code, out = run_cli(
        "evaluate", f"{corpus}::NanumMyeongjo", "--real", f"{corpus}::NanumGothic",
        "--classifier", other,
    )  # fmt: skip
    one_error_line(code, out, "reads 64×64 glyphs, given 32×32")


def test_conditional_and_unconditional_runs(tmp_path, corpus, classifier):
    cond = tmp_path / "cond"
    code, out = run_cli(
        "train", "dcgan", "--corpus", corpus, "--faces", "NanumGothic", "--conditional",
        "--steps", "1", "--run", cond, *FAST,
    )  # fmt: skip
    assert code == 0, out
    code, out = run_cli(
        "evaluate", cond, "--classifier", classifier, "--json", tmp_path / "cond.json",
        "--sheet", tmp_path / "cond.png",
    )  # fmt: skip
    assert code == 0, out
    report = json.loads((tmp_path / "cond.json").read_text())
    first = next(iter(report["rows"].values()))
    assert first["count"] == len(TEXT)
    assert 0 <= first["content_accuracy"] <= 1
    assert "copy NanumGothic" in report["rows"]
    assert any("the training face" in note for note in report["notes"])
    assert (tmp_path / "cond.png").is_file()

    plain = tmp_path / "plain"
    code, out = run_cli("train", "dcgan", "--corpus", corpus, "--steps", "1", "--run", plain, *FAST)
    assert code == 0, out
    code, out = run_cli(
        "evaluate", plain, "--classifier", classifier, "--n", "16", "--json",
        tmp_path / "plain.json",
    )  # fmt: skip
    assert code == 0, out
    rows = json.loads((tmp_path / "plain.json").read_text())["rows"]
    samples = rows["plain samples"]
    assert samples["count"] == 16
    assert 0 <= samples["legibility"] <= 1 and 0 <= samples["diversity"] <= 16
    assert samples["glyph_fid"] > 0
    assert "real training glyphs" in rows

    code, out = run_cli("evaluate", plain, "--classifier", classifier, "--sheet", "x.png")
    one_error_line(code, out, "--sheet needs a glyph set or a conditional run")


def test_outputs_replace_only_what_the_command_wrote(tmp_path, corpus, classifier):
    """--json and --sheet: never an existing file without --force; with it only a report
    or PNG hangulgan wrote, else exit 2 naming the path, the file untouched (issue 19)."""
    args = ("evaluate", f"{corpus}::NanumMyeongjo", "--real", f"{corpus}::NanumGothic",
            "--classifier", classifier, "--no-baselines")  # fmt: skip
    mine_json, mine_png = tmp_path / "notes.json", tmp_path / "photo.png"
    mine_json.write_text('{"my": "notes"}')
    from PIL import Image

    Image.new("L", (4, 4), 128).save(mine_png)
    before = mine_png.read_bytes()
    for flag, path in (("--json", mine_json), ("--sheet", mine_png)):
        code, out = run_cli(*args, flag, path)
        one_error_line(code, out, f"{path}: already exists (replace it with --force)")
        code, out = run_cli(*args, flag, path, "--force")
        one_error_line(code, out, f"{path}: not a ")
    assert mine_json.read_text() == '{"my": "notes"}' and mine_png.read_bytes() == before
    code, out = run_cli(*args, "--json", tmp_path / "r.json", "--sheet", tmp_path / "s.png")
    assert code == 0, out
    assert json.loads((tmp_path / "r.json").read_text())["format"] == "hangulgan.evaluation"
    code, out = run_cli(*args, "--json", tmp_path / "r.json")
    one_error_line(code, out, "r.json: already exists")
    code, out = run_cli(*args, "--json", tmp_path / "r.json", "--sheet", tmp_path / "s.png",
                        "--force")  # fmt: skip
    assert code == 0, out
    # --ocr's report: refused before any reading (no Tesseract needed to get here)
    font = debian_font(NANUM / "NanumGothic.ttf")
    code, out = run_cli("evaluate", "--ocr", font, "--json", mine_json, "--force")
    one_error_line(code, out, f"{mine_json}: not a report that hangulgan wrote")
    code, out = run_cli("evaluate", "--ocr", tmp_path / "none.ttf", "--json", mine_json)
    one_error_line(code, out, "none.ttf: no such font file")


def test_classifier_export_replaces_only_a_classifier_file(tmp_path, classifier):
    run = classifier.parent / "run"
    out = tmp_path / "clf"
    (tmp_path / "clf.json").write_text('{"my": "notes"}')
    code, text = run_cli("classifier-export", run, "--out", out)
    one_error_line(code, text, "clf.json: already exists (replace it with --force)")
    code, text = run_cli("classifier-export", run, "--out", out, "--force")
    one_error_line(code, text, "clf.json: not a classifier file that hangulgan wrote")
    assert (tmp_path / "clf.json").read_text() == '{"my": "notes"}'
    assert not (tmp_path / "clf.safetensors").exists()
    code, text = run_cli("classifier-export", run, "--out", classifier)
    one_error_line(code, text, "content.safetensors: already exists")
    code, text = run_cli("classifier-export", run, "--out", classifier, "--force")
    assert code == 0, text
    code, text = run_cli("classifier-export", tmp_path / "no-run", "--out", classifier)
    assert code == 2 and "no-run" in text and "already exists" not in text


def test_corpus_preview_replaces_only_a_png_hangulgan_drew(tmp_path, corpus):
    from PIL import Image

    mine = tmp_path / "photo.png"
    Image.new("L", (4, 4), 128).save(mine)
    before = mine.read_bytes()
    preview = ("corpus", "preview", corpus, "--face", "NanumGothic", "--out")
    code, out = run_cli(*preview, mine)
    one_error_line(code, out, "photo.png: already exists (replace it with --force)")
    code, out = run_cli(*preview, mine, "--force")
    one_error_line(code, out, "photo.png: not a grid that hangulgan drew")
    assert mine.read_bytes() == before
    ours = tmp_path / "preview.png"
    for extra in ((), ("--force",), ("--all-faces", "--text", "한글", "--force")):
        code, out = run_cli(*preview, ours, *extra)
        assert code == 0, out
    code, out = run_cli(*preview, ours)
    one_error_line(code, out, "preview.png: already exists")
    code, out = run_cli("corpus", "preview", tmp_path / "none", "--out", ours)
    assert code == 2 and "none" in out and "already exists" not in out
    for wrong in (("--face", "Nope"), ("--faces", "Nope")):
        code, out = run_cli("corpus", "preview", corpus, *wrong, "--out", ours)
        one_error_line(code, out, "Nope")
