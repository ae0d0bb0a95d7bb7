"""`hangulgan translate test` and `translate evaluate` on runs trained here: outputs per
input, U-GAT-IT heatmaps, skipped inputs, one score table over runs, the HTML page."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hangulgan.data.glyphset import GlyphSet
from hangulgan.translate.infer import score

from conftest import run_cli

FAST = ("--batch", "2", "--no-progress", "--sample-every", "0", "--grid", "2", "--amp", "off",
        "--size", "32", "--width", "4", "--steps", "2")  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    """Pairs A/ → B/ (inverted colours), a pix2pix and an autoencoder run; a U-GAT-IT run
    on the same folders read as unaligned domains."""
    root = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(2)
    for side in ("A", "B", "trainA", "trainB"):
        (root / "data" / side).mkdir(parents=True)
    for i in range(4):
        pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        for side, image in (("A", pixels), ("B", 255 - pixels)):
            Image.fromarray(image).save(root / "data" / side / f"{i}.png")
            Image.fromarray(image).save(root / "data" / f"train{side}" / f"{i}.png")
    runs = {}
    for model, extra in (("pix2pix", ("--d-width", "4")), ("autoencoder", ())):
        runs[model] = root / model
        code, out = run_cli("translate", "train", model, "--data", root / "data",
                            "--layout", "folders", "--run", runs[model], *FAST, *extra)  # fmt: skip
        assert code == 0, out
    runs["ugatit"] = root / "ugatit"
    code, out = run_cli(
        "translate", "train", "ugatit", "--data", root / "data", "--layout", "unaligned",
        "--run", runs["ugatit"], *FAST, "--d-width", "4", "--blocks", "1",
        "--global-layers", "5", "--local-layers", "4",
    )  # fmt: skip
    assert code == 0, out
    return root / "data", runs


def test_translate_test_writes_one_output_per_input_and_heatmaps(trained, tmp_path):
    data, runs = trained
    code, out = run_cli("translate", "test", runs["ugatit"], "--input", data / "A",
                        "--out", tmp_path / "out", "--heatmaps")  # fmt: skip
    assert code == 0 and "translated 4 image(s)" in out, out
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == sorted(
        [f"{i}.png" for i in range(4)]
        + [f"{i}.attention.png" for i in range(4)]
        + ["translations.json"]  # the record by which --force knows its own outputs
    )
    assert Image.open(tmp_path / "out" / "0.png").size == (32, 32)
    code, out = run_cli("translate", "test", runs["pix2pix"], "--input", data / "A",
                        "--out", tmp_path / "p", "--heatmaps")  # fmt: skip
    assert code == 2 and "no attention maps" in out


def test_translate_test_skips_unreadable_inputs_with_exit_1(trained, tmp_path):
    data, runs = trained
    inputs = tmp_path / "in"
    inputs.mkdir()
    Image.open(data / "A" / "0.png").convert("L").save(inputs / "gray.png")  # converted
    (inputs / "bad.png").write_bytes(b"not a png")
    code, out = run_cli("translate", "test", runs["pix2pix"], "--input", inputs,
                        "--out", tmp_path / "out")  # fmt: skip
    assert code == 1 and "translated 1 image(s)" in out and "bad.png" in out, out
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out = run_cli(
        "translate", "test", runs["pix2pix"], "--input", empty, "--out", tmp_path / "o"
    )
    assert code == 2 and "holds no image" in out


def glyph_set_with_preview(folder: Path) -> GlyphSet:
    """Three glyphs (ink 255 on paper 0) and a preview.png, as `generate` writes them."""
    rng = np.random.default_rng(5)
    glyphs = GlyphSet(
        rng.integers(0, 256, (3, 32, 32), dtype=np.uint8), np.array([0xAC00, 0xB098, 0xD55C]),
        "drawn",
    )  # fmt: skip
    glyphs.save(folder)
    Image.new("L", (200, 50), 255).save(folder / "preview.png")
    return glyphs


def test_translate_test_translates_a_glyph_sets_glyphs(trained, tmp_path):
    """Regression: a glyph set as --input translated only its preview.png (exit 0)."""
    _data, runs = trained
    glyphs = glyph_set_with_preview(tmp_path / "set")
    code, out = run_cli("translate", "test", runs["pix2pix"], "--input", tmp_path / "set",
                        "--out", tmp_path / "out")  # fmt: skip
    assert code == 0 and "translated 3 glyph(s)" in out, out
    names = [f"U+{cp:04X}" for cp in glyphs.codepoints]
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == sorted(
        f"{n}.png" for n in names
    )
    # each glyph is translated as the same drawing in an image file would be (ink black)
    drawings = tmp_path / "drawings"
    drawings.mkdir()
    for name, ink in zip(names, glyphs.images, strict=True):
        Image.fromarray(255 - ink).save(drawings / f"{name}.png")
    code, out = run_cli("translate", "test", runs["pix2pix"], "--input", drawings,
                        "--out", tmp_path / "expected")  # fmt: skip
    assert code == 0, out
    for name in names:
        got = np.asarray(Image.open(tmp_path / "out" / f"{name}.png"))
        assert np.array_equal(got, np.asarray(Image.open(tmp_path / "expected" / f"{name}.png")))


def test_translate_test_never_overwrites_files_it_did_not_write(trained, tmp_path):
    """Regression: --out files of the inputs' names were overwritten without a word."""
    data, runs = trained
    out = tmp_path / "out"
    out.mkdir()
    (out / "0.png").write_bytes(b"my picture")
    args = ("translate", "test", runs["pix2pix"], "--input", data / "A", "--out", out)
    for force in ([], ["--force"]):
        code, text = run_cli(*args, *force)
        assert code == 2 and f"{out / '0.png'}: " in text, text
        assert (out / "0.png").read_bytes() == b"my picture"
    assert sorted(p.name for p in out.iterdir()) == ["0.png"]
    fresh = tmp_path / "fresh"
    code, text = run_cli(*args[:-1], fresh)
    assert code == 0, text
    code, text = run_cli(*args[:-1], fresh)
    assert code == 2 and "already exists (replace it with --force)" in text, text
    first = (fresh / "0.png").read_bytes()
    code, text = run_cli("translate", "test", runs["autoencoder"], "--input", data / "A",
                         "--out", fresh, "--force")  # fmt: skip
    assert code == 0, text
    assert (fresh / "0.png").read_bytes() != first  # the other run's translation


def test_evaluate_scores_runs_in_one_table_and_writes_a_page(trained, tmp_path):
    data, runs = trained
    page, sheet = tmp_path / "page.html", tmp_path / "sheet.png"
    code, out = run_cli("translate", "evaluate", runs["pix2pix"], runs["autoencoder"],
                        "--input", data / "A", "--target", data / "B", "--html", page,
                        "--sheet", sheet, "--show", "3")  # fmt: skip
    assert code == 0, out
    # the sheet (the trainer's labelled sheet): columns input, pix2pix, autoencoder,
    # target; 3 samples of 32 px tiles, 2 px apart below a 12 px label row, scaled 2×
    pixels = np.asarray(Image.open(sheet).convert("RGB"), dtype=int)
    assert pixels.shape[:2] == (2 * (12 + 3 * 34 + 2), 2 * (4 * 34 + 2))
    inputs = [np.asarray(Image.open(data / "A" / f"{i}.png"), dtype=int) for i in range(3)]
    targets = [np.asarray(Image.open(data / "B" / f"{i}.png"), dtype=int) for i in range(3)]
    for i in range(3):
        y = 2 * (12 + 2 + i * 34)
        tile = pixels[y : y + 64 : 2]
        assert np.abs(tile[:, 2 * 2 : 2 * 2 + 64 : 2] - inputs[i]).max() <= 1
        x = 2 * (2 + 3 * 34)
        assert np.abs(tile[:, x : x + 64 : 2] - targets[i]).max() <= 1
    lines = out.splitlines()
    assert lines[0].split()[:5] == ["model", "images", "MSE", "PSNR", "SSIM"]
    assert lines[1].startswith("pix2pix") and lines[2].startswith("autoencoder")
    assert " 4 " in lines[1] and lines[1].split()[5:7] == ["-", "-"]  # no glyphs to read
    text = page.read_text()
    assert text.count("<img") == 4 * 3 and "PSNR" in text  # input, 2 outputs, target × 3
    code, out = run_cli("translate", "evaluate", runs["pix2pix"])
    assert code == 2 and "give --input DIR and --target DIR" in out


def test_evaluate_never_overwrites_a_page_or_sheet_it_did_not_write(trained, tmp_path):
    """Regression: --html and --sheet replaced any file of that name without a word."""
    data, runs = trained
    page, sheet = tmp_path / "page.html", tmp_path / "sheet.png"
    page.write_text("<html>my notes</html>", encoding="utf-8")
    Image.new("RGB", (4, 4), "blue").save(sheet)
    before = page.read_bytes(), sheet.read_bytes()
    base = ("translate", "evaluate", runs["pix2pix"], "--input", data / "A", "--target",
            data / "B")  # fmt: skip
    for option, path, mark in (("--html", page, "a page"), ("--sheet", sheet, "a grid")):
        code, out = run_cli(*base, option, path)
        assert code == 2 and f"{path}: already exists (replace it with --force)" in out, out
        code, out = run_cli(*base, option, path, "--force")
        assert code == 2 and f"error: {path}: not {mark}" in out, out
    assert (page.read_bytes(), sheet.read_bytes()) == before
    ours_page, ours_sheet = tmp_path / "ours.html", tmp_path / "ours.png"
    code, out = run_cli(*base, "--html", ours_page, "--sheet", ours_sheet)
    assert code == 0, out
    code, out = run_cli(*base, "--html", ours_page, "--sheet", ours_sheet, "--force")
    assert code == 0, out
    code, out = run_cli("translate", "evaluate", tmp_path / "no-run", "--html", ours_page)
    assert code == 2 and "no-run" in out and "already exists" not in out, out


def test_score_is_perfect_for_identical_images_and_worse_for_others():
    images = torch.rand(3, 3, 16, 16) * 2 - 1
    mse, psnr, ssim = score(images, images)
    assert mse == 0 and ssim == pytest.approx(1.0) and psnr > 60
    mse2, psnr2, ssim2 = score(images, -images)
    assert mse2 > 0.1 and psnr2 < 15 and ssim2 < 0.5
    # [-1, 1] images → [0, 1] units: a constant offset of 0.2 is an MSE of 0.01
    assert score(images.clamp(-0.5, 0.5) + 0.2, images.clamp(-0.5, 0.5))[0] == pytest.approx(0.01)


def test_a_colorize_run_translates_the_grayscale_of_its_inputs(trained, tmp_path):
    """A colorize run learnt from grayscale inputs: `test` makes them grayscale, too, so a
    colour input and its grayscale copy translate alike."""
    data, _ = trained
    run = tmp_path / "colorize"
    code, out = run_cli("translate", "train", "autoencoder", "--data", data / "B",
                        "--layout", "colorize", "--run", run, *FAST)  # fmt: skip
    assert code == 0, out
    inputs = tmp_path / "in"
    inputs.mkdir()
    colour = Image.open(data / "A" / "0.png")
    colour.save(inputs / "colour.png")
    colour.convert("L").convert("RGB").save(inputs / "gray.png")
    code, out = run_cli("translate", "test", run, "--input", inputs, "--out", tmp_path / "out")
    assert code == 0, out
    a = np.asarray(Image.open(tmp_path / "out" / "colour.png"), dtype=int)
    b = np.asarray(Image.open(tmp_path / "out" / "gray.png"), dtype=int)
    assert np.abs(a - b).max() <= 3  # PIL's and our luma weights round differently


@pytest.mark.slow
def test_colorize_learns_colour_from_scikit_image_photos(tmp_path):
    """The colorize preset on the photographs scikit-image ships (no download): trained on
    tiles of three photos, it colours held-out tiles closer to their true colours than the
    grayscale input is (the baseline of not colouring at all)."""
    from skimage import data as photos

    train, held = tmp_path / "photos", tmp_path / "held"
    train.mkdir()
    held.mkdir()
    for name in ("astronaut", "coffee", "chelsea"):
        image = getattr(photos, name)()
        h, w = (s // 64 * 64 for s in image.shape[:2])
        for n, (y, x) in enumerate((y, x) for y in range(0, h, 64) for x in range(0, w, 64)):
            tile = Image.fromarray(image[y : y + 64, x : x + 64]).resize((32, 32), Image.LANCZOS)
            tile.save((held if n % 5 == 0 else train) / f"{name}-{n}.png")
    run = tmp_path / "colorize"
    code, out = run_cli(
        "translate", "train", "autoencoder", "--data", train, "--layout", "colorize",
        "--run", run, "--size", "32", "--width", "8", "--batch", "16", "--steps", "250",
        "--lr", "2e-3", "--no-progress", "--sample-every", "0", "--amp", "off",
        "--threads", "1",
    )  # fmt: skip
    assert code == 0, out
    code, out = run_cli("translate", "test", run, "--input", held, "--out", tmp_path / "out")
    assert code == 0, out
    coloured = gray = 0.0
    for path in sorted(held.iterdir()):
        truth = np.asarray(Image.open(path).convert("RGB"), dtype=float) / 255
        made = np.asarray(Image.open(tmp_path / "out" / path.name).convert("RGB"), float) / 255
        luma = np.asarray(Image.open(path).convert("L"), dtype=float)[..., None] / 255
        coloured += float(((made - truth) ** 2).mean())
        gray += float(((luma - truth) ** 2).mean())
    print(f"colour MSE {coloured:.3f}, grayscale {gray:.3f}")
    assert coloured < 0.9 * gray, (coloured, gray)
