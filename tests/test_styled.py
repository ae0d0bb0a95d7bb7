"""The few-shot styled generator: split, batches, training through the trainer, inference, CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from hangulgan import hangul
from hangulgan.cli import main
from hangulgan.data.corpus import Corpus
from hangulgan.data.corpus_manifest import RenderSettings
from hangulgan.data.corpus_render import render_corpus
from hangulgan.errors import CheckpointError, ConfigError
from hangulgan.models.styled import StyledModel
from hangulgan.models.styled_config import StyledConfig, StyledDataConfig
from hangulgan.models.styled_data import StyledDataset
from hangulgan.models.styled_inference import StyledGenerator, tone_curve
from hangulgan.models.styled_nets import AdaIN
from hangulgan.models.styled_references import references_from_folder, references_from_font
from hangulgan.models.styled_split import (
    DEFAULT_REFERENCES,
    greedy_reference_cover,
    holdout_syllables,
    training_syllables,
)
from hangulgan.train.contract import DataInfo

from conftest import NANUM, debian_font

FACES = ("NanumGothic", "NanumMyeongjo", "NanumPen")
# a small charset: the default references plus the first 300 KS X 1001 syllables
CHARSET = sorted(set(hangul.ksx1001_syllables()[:300]) | {ord(c) for c in DEFAULT_REFERENCES})


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    fonts = [debian_font(NANUM / f"{name}.ttf") for name in FACES]
    out = tmp_path_factory.mktemp("styled") / "corpus"
    settings = RenderSettings(charset_name="styled-test", charset=CHARSET)
    render_corpus(fonts, out, settings, progress=False)
    return Corpus.open(out)


MODEL = StyledConfig(width=8, style_dim=16, jamo_dim=8, res_blocks=1)


def _data(corpus: Corpus, **kw) -> StyledDataConfig:
    base = dict(
        corpus=str(corpus.folder),
        holdout_faces=["NanumPen"],
        refs_min=2,
        refs_max=4,
        targets_per_face=4,
    )
    return StyledDataConfig(**(base | kw))


def test_default_references_are_the_greedy_cover_of_common_syllables():
    assert greedy_reference_cover(8) == DEFAULT_REFERENCES
    parts = [hangul.decompose(c) for c in DEFAULT_REFERENCES]
    assert len({p[0] for p in parts}) == 8  # 8 distinct initials
    assert len({p[1] for p in parts}) == 8  # 8 distinct medials
    assert all(ord(c) in set(hangul.ksx1001_syllables()) for c in DEFAULT_REFERENCES)


def test_holdout_syllables_are_reproducible_and_spare_the_references():
    held = holdout_syllables(0.1, seed=3)
    assert len(held) == round(0.1 * hangul.N_SYLLABLES)
    assert np.array_equal(held, holdout_syllables(0.1, seed=3))
    assert not np.array_equal(held, holdout_syllables(0.1, seed=4))
    assert not set(held.tolist()) & {ord(c) for c in DEFAULT_REFERENCES}


def test_training_syllables_are_the_complement_of_the_held_out_ones():
    text = training_syllables(0.1, 0)
    held = holdout_syllables(0.1, 0)
    assert len(text) + len(held) == hangul.N_SYLLABLES
    assert not {ord(c) for c in text} & set(held.tolist())
    assert text == "".join(sorted(text))


def test_adain_is_instance_norm_with_per_sample_scale_and_shift():
    torch.manual_seed(0)
    layer = AdaIN(6, 5)
    with torch.no_grad():
        layer.affine.weight.normal_()
    x, style = torch.randn(4, 6, 7, 7) * 3 + 1, torch.randn(4, 5)
    scale, shift = layer.affine(style)[:, :, None, None].chunk(2, dim=1)
    expected = torch.nn.functional.instance_norm(x) * scale + shift
    assert torch.allclose(layer(x, style), expected, atol=1e-5)


def test_batches_hold_out_faces_and_syllables_and_never_show_a_target_as_reference(corpus):
    dataset = StyledDataset(corpus, _data(corpus, holdout_fraction=0.3, refs_min=3, refs_max=3), 1)
    assert dataset.face_names == ["NanumGothic", "NanumMyeongjo"]
    held = set(holdout_syllables(0.3, 0).tolist())
    rng = np.random.default_rng(0)
    for _ in range(20):
        indices = rng.choice(len(dataset), size=8, replace=False)
        batch = dataset.get_batch(indices)
        assert batch["image"].shape == (8, 1, 32, 32) and batch["refs"].shape == (2, 3, 1, 32, 32)
        cps = hangul.FIRST + _syllables(batch["jamo"])
        ref_cps = hangul.FIRST + _syllables(batch["ref_jamo"].reshape(-1, 3))
        assert not (set(cps.tolist()) | set(ref_cps.tolist())) & held
        for group in range(2):
            targets = set(cps[batch["group"].numpy() == group].tolist())
            refs = set(ref_cps.reshape(2, 3)[group].tolist())
            assert not targets & refs
            assert len(set(batch["face"][batch["group"] == group].tolist())) == 1
        # the source image is the content face's drawing of the same syllable
        gothic = corpus.face("NanumGothic")
        first = int(cps[0])
        expected = gothic.image(first).astype(np.float32) / 127.5 - 1
        assert np.allclose(batch["source"][0, 0].numpy(), expected)
    again = dataset.get_batch(indices)
    assert torch.equal(again["refs"], batch["refs"]) and torch.equal(again["image"], batch["image"])


def _syllables(jamo: torch.Tensor) -> np.ndarray:
    j = jamo.numpy().astype(np.int64)
    return (j[:, 0] * hangul.N_MEDIALS + j[:, 1]) * hangul.N_FINALS + j[:, 2]


def test_unknown_holdout_face_is_a_clear_error(corpus):
    with pytest.raises(Exception, match="held-out face"):
        StyledDataset(corpus, _data(corpus, holdout_faces=["NoSuchFace"]))


def test_styled_model_learns_a_fixed_batch(corpus):
    dataset = StyledDataset(corpus, _data(corpus))
    model = StyledModel(MODEL, DataInfo(num_faces=dataset.num_faces))
    batch = dataset.get_batch(np.arange(16))
    torch.manual_seed(0)
    first = model.training_step(batch, 0)["l1"].item()
    for step in range(1, 60):
        last = model.training_step(batch, step)["l1"].item()
    assert last < 0.6 * first  # it fits a fixed batch: the gradients reach every part


def test_adversarial_variant_trains_its_discriminator(corpus):
    config = StyledConfig(**MODEL.to_dict() | {"adv_weight": 0.1})
    dataset = StyledDataset(corpus, _data(corpus))
    model = StyledModel(config, DataInfo(num_faces=dataset.num_faces))
    before = [p.detach().clone() for p in model.networks["disc"].parameters()]
    losses = model.training_step(dataset.get_batch(np.arange(8)), 0)
    assert {"l1", "d", "adv", "aux"} <= set(losses)
    after = list(model.networks["disc"].parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))


def test_content_loss_alone_teaches_the_generator_and_leaves_the_critic_frozen(corpus):
    from hangulgan.eval.classifier import default_content_classifier_path

    critic = str(default_content_classifier_path())
    config = StyledConfig(
        **MODEL.to_dict() | {"l1_weight": 0.0, "content_weight": 1.0, "content_critic": critic}
    )
    dataset = StyledDataset(corpus, _data(corpus))
    model = StyledModel(config, DataInfo(num_faces=dataset.num_faces))
    frozen = [p.detach().clone() for p in model.critic.parameters()]
    batch = dataset.get_batch(np.arange(16))
    torch.manual_seed(0)
    first = model.training_step(batch, 0)["content"].item()
    for step in range(1, 40):
        last = model.training_step(batch, step)["content"].item()
    assert last < 0.5 * first  # the critic's gradients reach the generator
    after = list(model.critic.parameters())
    assert all(torch.equal(a, b) for a, b in zip(frozen, after, strict=True))
    assert "critic" not in model.networks  # not optimised, not checkpointed


def test_content_loss_needs_a_content_critic(corpus, tmp_path):
    with pytest.raises(ConfigError, match="--content-critic"):
        StyledConfig(**MODEL.to_dict() | {"content_weight": 0.1}).validate()
    dataset = StyledDataset(corpus, _data(corpus))
    config = StyledConfig(
        **MODEL.to_dict()
        | {"content_weight": 0.1, "content_critic": str(tmp_path / "none.safetensors")}
    )
    with pytest.raises(CheckpointError, match="none"):
        StyledModel(config, DataInfo(num_faces=dataset.num_faces))


TRAIN_ARGS = [
    "--width",
    "8",
    "--style-dim",
    "16",
    "--jamo-dim",
    "8",
    "--res-blocks",
    "1",
    "--holdout-faces",
    "NanumPen",
    "--refs-min",
    "2",
    "--refs-max",
    "4",
    "--batch",
    "8",
    "--threads",
    "1",
    "--amp",
    "off",
    "--no-progress",
]


@pytest.fixture(scope="module")
def trained_run(corpus, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("styled-run") / "run"
    args = [
        "train",
        "styled",
        "--corpus",
        str(corpus.folder),
        "--run",
        str(run),
        "--steps",
        "4",
        "--sample-every",
        "2",
        "--checkpoint-every",
        "2",
    ]
    result = CliRunner().invoke(main, args + TRAIN_ARGS)
    assert result.exit_code == 0, result.output
    return run


def test_train_styled_writes_a_visual_sheet_and_resumes(trained_run, corpus):
    samples = sorted((trained_run / "samples").glob("*.png"))
    assert samples, "no sample sheet"
    args = ["train", "styled", "--run", str(trained_run), "--resume", "--steps", "6"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert (trained_run / "checkpoints" / "step-00000006.safetensors").is_file()


def test_generator_weights_round_trip_and_draw_the_same(trained_run, tmp_path):
    generator = StyledGenerator.from_run(trained_run)
    assert generator.bank_names == ["NanumGothic", "NanumMyeongjo"]
    style = generator.style_from_face("NanumMyeongjo")
    cps = CHARSET[:40]
    drawn = generator.draw(style, cps)
    assert drawn.shape == (40, 32, 32) and drawn.dtype == np.uint8
    path = generator.save(tmp_path / "w.safetensors")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # as any output, not owner-only
    again = StyledGenerator.from_weights(path)
    assert np.array_equal(again.draw(again.style_from_face("NanumMyeongjo"), cps), drawn)
    glyphs = again.glyphset(style, cps, name="x")
    assert glyphs.meta["placement"] == "em" and glyphs.codepoints.tolist() == cps
    # a mix is a weighted blend: all weight on one face is that face
    assert np.array_equal(again.draw(again.mix({"NanumMyeongjo": 1.0}), cps), drawn)
    assert np.array_equal(
        again.draw(again.random_style(5), cps), again.draw(again.random_style(5), cps)
    )


def test_tone_curve_restores_the_weight_of_faint_drawings():
    rng = np.random.default_rng(0)
    real = np.where(rng.random((8, 32, 32)) < 0.2, 255, 0).astype(np.uint8)
    faint = (real // 3).astype(np.uint8)  # the same strokes at a third of the ink
    curve = tone_curve(faint, real)
    assert curve[0] == 0 and np.all(np.diff(curve.astype(int)) >= 0)
    assert np.array_equal(curve[faint], real)
    same = tone_curve(real, real)  # already right: nothing to change where there is ink
    assert same[255] == 255 and same[0] == 0


def test_calibrated_style_draws_through_its_tone_curve(trained_run, corpus):
    generator = StyledGenerator.from_run(trained_run)
    face = corpus.face("NanumPen", augmented=False)
    refs = [ord(c) for c in DEFAULT_REFERENCES]
    index = {int(c): i for i, c in enumerate(face.codepoints)}
    images = np.stack([face.images[index[c]] for c in refs])
    plain = generator.style_from_images(images, refs, calibrate=False)
    calibrated = generator.style_from_images(images, refs)
    assert plain.tone is None and calibrated.tone is not None
    cps = CHARSET[:30]
    assert np.array_equal(
        generator.draw(calibrated, cps), calibrated.tone[generator.draw(plain, cps)]
    )
    # one reference leaves none to compare against: drawn as it comes
    assert generator.style_from_images(images[:1], refs[:1]).tone is None


@pytest.mark.parametrize(
    ("mix", "message"),
    [("NanumGothic:0.5,NanumPen:0.5", "unknown face 'NanumPen'"), ("NanumGothic:0.7", "sum to")],
)
def test_mix_errors(trained_run, tmp_path, mix, message):
    result = CliRunner().invoke(
        main,
        [
            "generate",
            str(trained_run),
            "--mix",
            mix,
            "--out",
            str(tmp_path / "g"),
            "--charset",
            "seed16",
        ],
    )
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "g").exists()


def test_references_from_a_folder_are_converted_and_reported(tmp_path):
    from PIL import Image

    folder = tmp_path / "refs"
    folder.mkdir()
    dark_on_light = np.full((64, 64, 3), 255, np.uint8)
    dark_on_light[16:48, 20:28] = 0
    Image.fromarray(dark_on_light).save(folder / "가.png")
    light_on_dark = np.zeros((32, 32), np.uint8)
    light_on_dark[8:24, 8:24] = 255
    Image.fromarray(light_on_dark).save(folder / "U+B098.png")
    images, cps, notes = references_from_folder(folder, (32, 32))
    assert cps == [0xB098, 0xAC00]  # file-name order: "U+B098.png" sorts before "가.png"
    assert images[1, 16, 12] > 200 and images[1, 2, 2] < 30  # inverted: ink high, ground low
    assert np.array_equal(images[0], light_on_dark)  # already in the glyph convention
    assert any("가.png" in n and "inverted" in n and "64×64→32×32" in n for n in notes)
    (folder / "notes.png").write_bytes((folder / "가.png").read_bytes())
    with pytest.raises(Exception, match="not a Hangul syllable"):
        references_from_folder(folder, (32, 32))


def test_generate_cli_from_a_font_and_from_drawings(trained_run, tmp_path):
    font = debian_font(NANUM / "NanumMyeongjo.ttf")
    out = tmp_path / "gen"
    args = [
        "generate",
        str(trained_run),
        "--refs",
        str(font),
        "--charset",
        "seed16",
        "--out",
        str(out),
        "--no-progress",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    glyphs = __import__("hangulgan.data.glyphset", fromlist=["GlyphSet"]).GlyphSet.load(out)
    assert len(glyphs) == 16 and (out / "preview.png").is_file()
    from hangulgan.data.render import FaceRenderer

    # placed like the reference font: export-ttf takes its baseline, advance and metrics
    expected = FaceRenderer(str(font), 0, 32, "em").geometry.to_meta()
    assert glyphs.meta["geometry"]["baseline_row"] == expected["baseline_row"]
    assert glyphs.meta["geometry"]["advance"] == expected["advance"]
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 2 and "already exists" in again.output
    assert CliRunner().invoke(main, args + ["--force"]).exit_code == 0
    both = CliRunner().invoke(main, args[:-1] + ["--style", "NanumGothic", "--force"])
    assert both.exit_code == 2 and "exactly one" in both.output


def test_generate_refuses_a_font_without_enough_syllables(trained_run, test_font, tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "generate",
            str(trained_run),
            "--refs",
            str(test_font),
            "--out",
            str(tmp_path / "g"),
            "--no-progress",
        ],
    )
    assert result.exit_code == 2 and "draws only" in result.output


@pytest.fixture(scope="module")
def cut_font(tmp_path_factory) -> Path:
    """NanumGothic cut to the small test charset (as a designer's font in progress)."""
    from fontTools import subset

    source = debian_font(NANUM / "NanumGothic.ttf")
    out = tmp_path_factory.mktemp("cut") / "NanumGothicCut.ttf"
    options = subset.Options()
    options.layout_features = ["*"]
    font = subset.load_font(str(source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=CHARSET + [ord(c) for c in "AaBb1 "])
    subsetter.subset(font)
    subset.save_font(font, str(out), options)
    return out


ADD = "뷁쀍똠햏꿹"  # not in the cut font


def test_complete_adds_what_the_font_lacks_and_keeps_the_rest(trained_run, cut_font, tmp_path):
    from fontTools.ttLib import TTFont

    from hangulgan.vector.complete import font_hangul

    charset = tmp_path / "want.txt"
    charset.write_text(ADD + "가나", encoding="utf-8")  # 가 나 are in the font already
    out = tmp_path / "out" / "Complete.ttf"
    args = [
        "complete",
        str(cut_font),
        "--out",
        str(out),
        "--run",
        str(trained_run),
        "--charset",
        str(charset),
        "--finetune-steps",
        "3",
        "--finetune-min",
        "50",
        "--workers",
        "1",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "5 added" in result.output and "fine-tuning" in result.output
    before, after = TTFont(str(cut_font)), TTFont(str(out))
    cmap_before, cmap_after = before.getBestCmap(), after.getBestCmap()
    assert all(cmap_after[cp] == name for cp, name in cmap_before.items())  # nothing remapped
    for cp in (ord("가"), ord("A")):  # original outlines and metrics untouched
        name = cmap_before[cp]
        assert after["glyf"][name].compile(after["glyf"]) == before["glyf"][name].compile(
            before["glyf"]
        )
        assert after["hmtx"][name] == before["hmtx"][name]
    drawn, _ = font_hangul(out)
    assert {ord(c) for c in ADD} <= set(drawn.codepoints.tolist())  # new glyphs draw ink
    usual = before["hmtx"][cmap_before[ord("가")]][0]
    assert all(after["hmtx"][cmap_after[ord(c)]][0] == usual for c in ADD)
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 2 and "already exists" in again.output


def test_complete_says_when_nothing_is_missing(trained_run, tmp_path):
    font = debian_font(NANUM / "NanumGothic.ttf")
    args = [
        "complete",
        str(font),
        "--out",
        str(tmp_path / "x.ttf"),
        "--run",
        str(trained_run),
        "--charset",
        "seed16",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0 and "nothing to add" in result.output
    assert "already draws every syllable of --charset seed16" in result.output
    assert not (tmp_path / "x.ttf").exists()


def test_complete_refuses_cff_fonts(trained_run, tmp_path):
    import fontfactory

    font = fontfactory.build_font(tmp_path / "cff.otf", cff=True)
    args = ["complete", str(font), "--out", str(tmp_path / "x.otf"), "--run", str(trained_run)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "TrueType (.ttf) fonts only" in result.output


def test_fewshot_cells_put_the_model_beside_both_copies(trained_run, corpus):
    from hangulgan.models.styled_fewshot import CELLS, METHODS, evaluate_fewshot, format_table

    generator = StyledGenerator.from_run(trained_run)
    results = evaluate_fewshot(generator, corpus, per_face=6, references=8)
    assert list(results) == list(CELLS)
    seen = results[CELLS[0]]
    assert seen.faces == ["NanumMyeongjo"]  # trained faces but the content face
    for cell in CELLS[1:]:
        assert results[cell].faces == ["NanumPen"]
        assert results[cell].nearest["NanumPen"] in ("NanumGothic", "NanumMyeongjo")
    for result in results.values():
        assert set(result.metrics) == set(METHODS) and result.glyphs == 6
    table = format_table(results, ["ink_iou", "l1"])
    assert "copy nearest face" in table and "unseen face, unseen syllables" in table
    # a row per face, and the worst and median gain over the nearest copy
    held = results[CELLS[2]]
    assert set(held.per_face) == {"NanumPen"}
    row = held.per_face["NanumPen"]
    assert row["styled"]["ink_iou"] == pytest.approx(held.metrics["styled"]["ink_iou"])
    gain = row["styled"]["ink_iou"] - row["copy nearest face"]["ink_iou"]
    assert "    NanumPen " in table and f"worst {gain:+.3f}, median {gain:+.3f}" in table


def test_fewshot_with_adaptation_draws_each_face_from_its_adapted_generator(trained_run, corpus):
    from hangulgan.models.styled_fewshot import CELLS, evaluate_fewshot

    generator = StyledGenerator.from_run(trained_run)
    plain = evaluate_fewshot(generator, corpus, per_face=6, references=8)
    adapted = evaluate_fewshot(generator, corpus, per_face=6, references=8, adapt_steps=3)
    for cell in CELLS:
        rows, before = adapted[cell].metrics, plain[cell].metrics
        assert rows["copy nearest face"] == before["copy nearest face"]  # baselines unchanged
        assert rows["styled"] != before["styled"]


def test_seen_face_cell_meets_the_same_faces_whatever_the_bank_order():
    from hangulgan.models.styled_fewshot import seen_face_sample

    names = [f"Face{i:02d}" for i in range(30)] + ["NanumGothic"]
    picked = seen_face_sample(names, "NanumGothic", 12)
    assert picked == seen_face_sample(list(reversed(names)), "NanumGothic", 12)
    assert len(picked) == 12 and picked[0] == "Face00" and picked[-1] == "Face29"
    assert seen_face_sample(names[::-1], "NanumGothic", 0) == sorted(names[:-1])  # 0: all
    assert seen_face_sample(names, "NanumGothic", 99) == sorted(names[:-1])


def test_evaluate_styled_run_from_the_command_line_with_all_seen_faces(trained_run, tmp_path):
    out = tmp_path / "fewshot.json"
    result = CliRunner().invoke(
        main,
        ["evaluate", str(trained_run), "--per-face", "4", "--seen-faces", "0", "--json", str(out)],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["seen face, unseen syllables"]["faces"] == ["NanumMyeongjo"]
    assert report["unseen face, unseen syllables"]["glyphs"] == 4
    bad = CliRunner().invoke(main, ["evaluate", str(trained_run), "--seen-faces", "-1"])
    assert bad.exit_code == 2
    # a weights file is judged the same way as the run it came from
    weights = StyledGenerator.from_run(trained_run).save(tmp_path / "w.safetensors")
    again = tmp_path / "weights.json"
    args = ["--per-face", "4", "--seen-faces", "0", "--json", str(again)]
    result = CliRunner().invoke(main, ["evaluate", str(weights), *args])
    assert result.exit_code == 0, result.output
    assert json.loads(again.read_text()) == report
    missing = CliRunner().invoke(main, ["evaluate", str(tmp_path / "none.safetensors")])
    assert missing.exit_code == 2 and "none.safetensors" in missing.output


def test_shipped_weights_draw_on_the_cpu_without_a_corpus():
    from hangulgan.models.styled_inference import SHIPPED_WEIGHTS

    assert SHIPPED_WEIGHTS.stat().st_size <= 30 * 2**20  # the limit for shipped weights
    generator = StyledGenerator.load()
    assert generator.size == (32, 32) and len(generator.bank_names) >= 20
    held = set(generator.data.holdout_face_list)
    assert held and not held & set(generator.bank_names)  # held-out faces never in the bank
    assert {"NanumMyeongjo", "NanumPen"} <= set(generator.bank_names)  # the README's --mix
    font = debian_font(NANUM / "NanumPen.ttf")
    images, cps, placement = references_from_font(
        font, [ord(c) for c in DEFAULT_REFERENCES], 8, (32, 32)
    )
    style = generator.style_from_images(images, cps)
    drawn = generator.draw(style, CHARSET[:32])
    assert drawn.shape == (32, 32, 32) and (drawn.max(axis=(1, 2)) > 64).all()  # ink in each
    assert placement["geometry"]["canvas"] == 32


def test_generate_refuses_a_run_that_is_not_styled(tmp_path, corpus):
    run = tmp_path / "dcgan"
    args = [
        "train",
        "dcgan",
        "--corpus",
        str(corpus.folder),
        "--run",
        str(run),
        "--steps",
        "1",
        "--batch",
        "8",
        "--threads",
        "1",
        "--amp",
        "off",
        "--no-progress",
    ]
    assert CliRunner().invoke(main, args).exit_code == 0
    result = CliRunner().invoke(
        main, ["generate", str(run), "--style", "NanumGothic", "--out", str(tmp_path / "g")]
    )
    assert result.exit_code == 2 and "not a styled one" in result.output


def _generate(run: Path, refs: Path, out: Path, *extra: str):
    args = ["generate", str(run), "--refs", str(refs), "--out", str(out), "--no-progress"]
    return CliRunner().invoke(main, [*args, *extra])


def test_generate_keeps_the_references_as_given_unless_asked_to_redraw(trained_run, tmp_path):
    from hangulgan.data.glyphset import GlyphSet

    font = debian_font(NANUM / "NanumMyeongjo.ttf")
    refs, _, _ = references_from_font(font, [ord(c) for c in DEFAULT_REFERENCES], 8, (32, 32))
    kept = _generate(trained_run, font, tmp_path / "kept", "--charset", "seed16")
    assert kept.exit_code == 0, kept.output
    glyphs = GlyphSet.load(tmp_path / "kept")
    redrawn = _generate(trained_run, font, tmp_path / "redrawn", "--charset", "seed16")
    assert redrawn.exit_code == 0
    both = [ord(c) for c in DEFAULT_REFERENCES if ord(c) in set(glyphs.codepoints.tolist())]
    assert both, "seed16 shares syllables with the default references"
    for cp in both:
        assert np.array_equal(
            glyphs.image(cp), refs[[ord(c) for c in DEFAULT_REFERENCES].index(cp)]
        )
    assert glyphs.meta["kept"] == "".join(chr(cp) for cp in glyphs.codepoints if cp in both)
    again = _generate(
        trained_run, font, tmp_path / "drawn", "--charset", "seed16", "--redraw-references"
    )
    assert again.exit_code == 0
    drawn = GlyphSet.load(tmp_path / "drawn")
    assert "kept" not in drawn.meta
    assert any(not np.array_equal(drawn.image(cp), glyphs.image(cp)) for cp in both)
    others = [cp for cp in glyphs.codepoints.tolist() if cp not in both]
    assert all(np.array_equal(drawn.image(cp), glyphs.image(cp)) for cp in others)


def test_generate_adapt_is_deterministic_and_moves_the_drawing(trained_run, tmp_path):
    from hangulgan.data.glyphset import GlyphSet

    font = debian_font(NANUM / "NanumMyeongjo.ttf")
    # 16 references: each target learns from 12 of the other 15, drawn by the seed (with 8
    # or fewer every target is drawn from all the others, whatever the seed)
    extra = ("--charset", "seed16", "--adapt-steps", "5", "--references", "16")
    runs = {}
    for name, seed in (("a", "0"), ("b", "0"), ("c", "1")):
        result = _generate(trained_run, font, tmp_path / name, *extra, "--seed", seed)
        assert result.exit_code == 0, result.output
        assert "warning" not in result.output, result.output
        runs[name] = GlyphSet.load(tmp_path / name)
    plain = _generate(trained_run, font, tmp_path / "plain", *extra[:2], *extra[-2:])
    assert plain.exit_code == 0
    base = GlyphSet.load(tmp_path / "plain")
    assert np.array_equal(runs["a"].images, runs["b"].images)
    assert not np.array_equal(runs["a"].images, runs["c"].images)
    assert not np.array_equal(runs["a"].images, base.images)


@pytest.mark.parametrize(
    ("drawings", "message"),
    [
        ({"가": "blank", "나": "blank"}, "holds no ink"),
        ({"가": "same", "나": "same"}, "same image"),
        ({"가": "one"}, "at least 2"),
    ],
)
def test_generate_adapt_refuses_references_it_cannot_learn_from(
    trained_run, tmp_path, drawings, message
):
    from PIL import Image

    folder = tmp_path / "drawings"
    folder.mkdir()
    for syllable, kind in drawings.items():
        image = np.full((32, 32), 255, np.uint8)  # paper
        if kind != "blank":
            image[8:24, 8:24] = 0
        Image.fromarray(image).save(folder / f"{syllable}.png")
    result = _generate(trained_run, folder, tmp_path / "out", "--adapt")
    assert result.exit_code == 2, result.output
    assert str(folder) in result.output and message in result.output
    assert not (tmp_path / "out").exists()


def test_generate_adapt_needs_references(trained_run, tmp_path):
    result = CliRunner().invoke(
        main, ["generate", str(trained_run), "--style", "NanumGothic", "--adapt", "--out", "x"]
    )
    assert result.exit_code == 2 and "give --refs" in result.output


def test_a_diverging_adaptation_falls_back_to_the_unadapted_drawing(
    trained_run, tmp_path, monkeypatch
):
    from hangulgan.data.glyphset import GlyphSet
    from hangulgan.models import styled_adapt

    font = debian_font(NANUM / "NanumMyeongjo.ttf")
    plain = _generate(trained_run, font, tmp_path / "plain", "--charset", "seed16")
    assert plain.exit_code == 0
    monkeypatch.setattr(styled_adapt, "DIVERGENCE_FACTOR", 1e-6)  # any loss now "diverges"
    result = _generate(trained_run, font, tmp_path / "out", "--charset", "seed16", "--adapt")
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output and "drawing without adaptation" in result.output
    fallback = GlyphSet.load(tmp_path / "out")
    assert np.array_equal(fallback.images, GlyphSet.load(tmp_path / "plain").images)


def test_complete_adapts_to_a_font_under_the_fine_tuning_minimum(trained_run, cut_font, tmp_path):
    charset = tmp_path / "want.txt"
    charset.write_text(ADD, encoding="utf-8")
    base = ["complete", str(cut_font), "--run", str(trained_run), "--charset", str(charset)]
    base += ["--finetune-min", "100000", "--references", "16", "--workers", "1"]
    adapted = CliRunner().invoke(
        main, [*base, "--out", str(tmp_path / "a.ttf"), "--adapt-steps", "4", "--no-progress"]
    )
    assert adapted.exit_code == 0, adapted.output
    assert "adapting to the font's 16 references" in adapted.output
    assert "fine-tuning" not in adapted.output
    plain = CliRunner().invoke(
        main, [*base, "--out", str(tmp_path / "p.ttf"), "--finetune-steps", "0", "--no-progress"]
    )
    assert plain.exit_code == 0 and "adapting" not in plain.output
    from hangulgan.vector.complete import font_hangul

    _, drawn_adapted = font_hangul(tmp_path / "a.ttf")
    _, drawn_plain = font_hangul(tmp_path / "p.ttf")
    added = [ord(c) for c in ADD]
    assert any(not np.array_equal(drawn_adapted.image(cp), drawn_plain.image(cp)) for cp in added)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"width": 10**7}, "width 10000000: must lie in 1..1024"),
        ({"style_dim": 10**7}, "style_dim 10000000: must lie in 1..65536"),
        ({"res_blocks": 10**6}, "res_blocks 1000000: must lie in 0..256"),
        ({"lr": float("nan")}, "learning rate nan: must be positive and finite"),
    ],
)
def test_styled_sizes_are_bounded_before_anything_is_allocated(values, message):
    with pytest.raises(ConfigError, match=message):
        StyledConfig(**values).validate()


def test_styled_run_stores_its_corpus_and_weights_paths_resolved(tmp_path, monkeypatch):
    from hangulgan.train.options import resolve_paths

    monkeypatch.chdir(tmp_path)
    data = resolve_paths(StyledDataConfig(corpus="corpus"))
    model = resolve_paths(StyledConfig(init_from="w.safetensors", content_critic=""))
    assert data.corpus == str(tmp_path / "corpus")
    assert model.init_from == str(tmp_path / "w.safetensors") and model.content_critic == ""
