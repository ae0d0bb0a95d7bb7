"""The CRNN text recognizer (`hangulgan train crnn`) and `hangulgan ocr-eval`: greedy CTC
decoding, the scores, reading exports back, training through the shared trainer (the loss
falls, the error rate drops below an untrained model's, resume is exact), bad input."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from hangulgan.errors import ConfigError
from hangulgan.ocr.crnn import (
    CRNN,
    Codec,
    ctc_collapse,
    default_alphabet,
    greedy_decode,
    line_batch,
)
from hangulgan.ocr.lines import open_split
from hangulgan.ocr.scoring import aligned_hits, edit_distance, score
from hangulgan.train.config import RunConfig, TrainConfig
from hangulgan.train.registry import MODELS

from conftest import NANUM, debian_font, run_cli

SYLLABLES = "가나다라마바사아자차카타"
# a small model on 1 thread: 150 steps of 16 words take a few seconds
SMALL = ("--channels", "8", "--hidden", "32", "--sequence", "conv", "--lr", "3e-3")
FAST = ("--batch", "16", "--no-progress", "--threads", "1", "--sample-every", "0")


# ------------------------------------------------------------------------ decoding


def test_ctc_collapse_merges_repeats_and_drops_blanks():
    assert ctc_collapse([1, 1, 0, 1, 2, 2, 0, 0]) == [1, 1, 2]
    assert ctc_collapse([3, 3, 3]) == [3]
    assert ctc_collapse([0, 0, 0]) == []
    assert ctc_collapse([]) == []
    assert ctc_collapse([0, 5, 0, 5, 5, 0]) == [5, 5]


def test_greedy_decode_reads_each_line_up_to_its_own_length():
    # B=2, T=5, C=3: line 0 reads 1 1 - 2 2 -> [1, 2]; line 1 is 3 columns long, so the
    # 2s beyond them are padding and are not read
    best = torch.tensor([[1, 1, 0, 2, 2], [2, 0, 2, 2, 2]])
    logits = torch.nn.functional.one_hot(best, 3).float()
    assert greedy_decode(logits, torch.tensor([5, 3])) == [[1, 2], [2, 2]]


def test_codec_maps_characters_after_the_blank():
    alphabet = default_alphabet("가\n나\n1".replace("\n", ""))
    assert alphabet == " 가나1"
    codec = Codec(alphabet)
    assert codec.classes == 5
    assert codec.encode("가 1") == [2, 1, 4]
    assert codec.decode([2, 0, 1, 4]) == "가 1"
    assert codec.unknown("가다") == {"다"}


def test_line_batch_pads_with_paper_to_a_multiple_of_four():
    a = np.full((32, 10), 255, np.uint8)
    b = np.zeros((32, 3), np.uint8)
    batch = line_batch([a, b], [[1, 2], [3]])
    assert batch["image"].shape == (2, 1, 32, 12)
    assert batch["image"][0, 0, :, :10].eq(1).all() and batch["image"][0, 0, :, 10:].eq(-1).all()
    assert batch["image"][1].eq(-1).all()
    assert batch["width"].tolist() == [10, 4]  # at least one column's worth
    assert batch["target"].tolist() == [1, 2, 3] and batch["target_length"].tolist() == [2, 1]


def test_the_lstm_reads_each_line_up_to_its_own_length():
    from hangulgan.ocr.crnn import LSTMSequence

    torch.manual_seed(0)
    lstm = LSTMSequence(6, 8, 2, 0.0).eval()
    x = torch.randn(2, 10, 6)
    with torch.no_grad():
        both = lstm(x, torch.tensor([5, 10]))
        alone = lstm(x[:1, :5], torch.tensor([5]))
    # what follows line 0's 5 columns (another line's length of padding) changes nothing
    assert torch.allclose(both[0, :5], alone[0], atol=1e-6)
    assert both[0, 5:].eq(0).all() and both.shape == (2, 10, 16)


def test_the_lstm_network_trains_and_reads(words, tmp_path):
    run = tmp_path / "lstm"
    args = ("--data", words, "--run", run, "--steps", 3, "--sequence", "lstm")
    code, output = run_cli("train", "crnn", *args, "--channels", "8", "--hidden", "16", *FAST)
    assert code == 0, output
    code, output = run_cli("ocr-eval", run, "--data", words, "--split", "val", "--json")
    assert code == 0, output
    assert json.loads(output)["samples"] == 24


# ------------------------------------------------------------------------ scores


def test_edit_distance():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3 and edit_distance("abc", "") == 3
    assert edit_distance("한글", "한글") == 0
    assert edit_distance(["다람쥐", "헌"], ["다람쥐", "새"]) == 1


def test_character_error_rate_is_over_all_characters_of_all_lines():
    scores = score([("가나다", "가나라"), ("ab", "ab"), ("한 글", "")])
    assert scores.characters == 8 and scores.character_errors == 1 + 0 + 3
    assert scores.cer == pytest.approx(4 / 8)
    assert scores.lines_right == 1 and scores.line_accuracy == pytest.approx(1 / 3)
    # a recognizer that reads more than is there can exceed 1
    assert score([("a", "abcd")]).cer == 3.0


def test_word_accuracy_counts_words_read_right_in_the_best_alignment():
    scores = score([("다람쥐 헌 쳇바퀴에", "다람쥐 헌 쳇바퀴")])
    assert (scores.words, scores.words_right) == (3, 2)
    assert score([("다람쥐 헌", "다람쥐  헌 ")]).word_accuracy == 1.0  # spaces are not words
    assert score([("가 나", "나")]).word_accuracy == 0.5
    assert score([("가", "나 가 다")]).word_accuracy == 1.0  # insertions cost CER, not hits
    # two swapped words: two edits either way, and the alignment with a hit wins
    assert aligned_hits(["a", "b"], ["b", "a"]) == 1
    assert score([]).cer == 0.0 and score([]).word_accuracy == 0.0


# ------------------------------------------------------------------------ exports


def _words_file(folder: Path, count: int = 240, seed: int = 0) -> Path:
    """Words of one to three of twelve syllables: a vocabulary a tiny model learns fast."""
    rng = random.Random(seed)
    words = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3))) for _ in range(count)]
    path = folder / "words.txt"
    path.write_text("\n".join(words) + "\n", encoding="utf-8")
    return path


def _export(out: Path, text: Path, *extra: object) -> Path:
    font = debian_font(NANUM / "NanumGothic.ttf")
    code, output = run_cli(
        "ocr-export", font, "--text", text, "--kind", "words", "--out", out, "--quiet", *extra
    )
    assert code == 0, output
    return out


@pytest.fixture(scope="module")
def words(tmp_path_factory) -> Path:
    """240 words set in NanumGothic, split 0.9/0.1, as an LMDB and as gt.txt."""
    folder = tmp_path_factory.mktemp("words")
    return _export(
        folder / "export", _words_file(folder), "--format", "lmdb,gt", "--split", "0.9,0.1"
    )


@pytest.fixture(scope="module")
def trained(words, tmp_path_factory) -> dict[str, Path]:
    """An untrained run (0 steps) and one trained 150 steps on the words."""
    runs = tmp_path_factory.mktemp("runs")
    out = {}
    for name, steps in (("untrained", 0), ("trained", 150)):
        run = runs / name
        code, output = run_cli(
            "train", "crnn", "--data", words, "--run", run, "--steps", steps,
            "--log-every", "10", *SMALL, *FAST,
        )  # fmt: skip
        assert code == 0, output
        out[name] = run
    return out


def test_crnn_is_a_registered_model():
    assert MODELS["crnn"] is CRNN


def test_every_format_reads_back_the_same_samples(tmp_path, words):
    text = _words_file(tmp_path)
    lmdb = open_split(words, "train")
    assert lmdb.fmt == "lmdb" and lmdb.split == "train" and len(lmdb) == 216
    for fmt in ("gt", "easyocr"):
        other = open_split(
            _export(tmp_path / fmt, text, "--format", fmt, "--split", "0.9,0.1"), "train"
        )
        assert other.fmt == fmt and other.labels == lmdb.labels
        for a, b in zip(other.images([0, 5, 100]), lmdb.images([0, 5, 100]), strict=True):
            assert np.array_equal(a, b)
    assert set("".join(lmdb.labels)) <= set(lmdb.charset) == set(SYLLABLES)
    assert lmdb.sources == ["NanumGothic"]


def test_images_come_back_as_ink_at_the_asked_height(tmp_path):
    export = _export(tmp_path / "tall", _words_file(tmp_path, 20), "--height", "48")
    split = open_split(export)  # unsplit: the whole export
    assert split.split == "all"
    tall, short = split.images([3])[0], split.images([3], 32)[0]
    assert tall.shape[0] == 48 and short.shape[0] == 32
    assert abs(short.shape[1] - round(tall.shape[1] * 32 / 48)) <= 1
    assert tall[0].max() == 0 and tall.max() == 255  # paper 0 at the edge, ink 255


# ------------------------------------------------------------------------ training


def test_training_lowers_the_loss_and_the_error_rate(words, trained):
    rows = (trained["trained"] / "metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    ctc = [float(r.split(",")[header.index("ctc")]) for r in rows[1:]]
    assert len(ctc) == 15 and ctc[-1] < 0.2 * ctc[0], ctc
    config = json.loads((trained["trained"] / "config.json").read_text())
    assert config["model"] == "crnn"
    assert config["model_config"]["alphabet"] == " " + SYLLABLES  # saved with the run
    cer = {}
    for name, run in trained.items():
        code, output = run_cli("ocr-eval", run, "--data", words, "--split", "train", "--json")
        assert code == 0, output
        cer[name] = json.loads(output)["cer"]
    assert cer["untrained"] > 0.9 and cer["trained"] < 0.2, cer
    code, output = run_cli("ocr-eval", trained["trained"], "--data", words, "--split", "val")
    assert code == 0, output
    assert "character error rate" in output and "word accuracy" in output and "[val]" in output


def test_resume_continues_exactly(tmp_path, words):
    from safetensors.torch import load_file

    args = ("--data", words, "--log-every", "5", *SMALL, *FAST)
    code, output = run_cli("train", "crnn", "--run", tmp_path / "straight", "--steps", 20, *args)
    assert code == 0, output
    code, output = run_cli("train", "crnn", "--run", tmp_path / "halves", "--steps", 10, *args)
    assert code == 0, output
    code, output = run_cli("train", "crnn", "--run", tmp_path / "halves", "--resume", "--steps", 20)
    assert code == 0, output
    assert "trained steps 10→20" in output
    a = load_file(tmp_path / "straight" / "checkpoints" / "step-00000020.safetensors")
    b = load_file(tmp_path / "halves" / "checkpoints" / "step-00000020.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_an_export_with_characters_outside_the_runs_alphabet_is_refused(tmp_path, words):
    code, output = run_cli(
        "train", "crnn", "--data", words, "--run", tmp_path / "r", "--steps", 1,
        "--alphabet", "가나다", *SMALL, *FAST,
    )  # fmt: skip
    assert code == 2
    assert "not in the run's alphabet" in output and "라" in output


# ------------------------------------------------------------------------ bad input


def _train(tmp_path: Path, *args: object) -> tuple[int, str]:
    return run_cli("train", "crnn", "--run", tmp_path / "run", "--steps", 1, *SMALL, *FAST, *args)


def test_training_refuses_what_is_not_an_export(tmp_path, words):
    code, output = _train(tmp_path)
    assert code == 2 and "no export given" in output
    code, output = _train(tmp_path, "--data", tmp_path)
    assert code == 2 and "not an ocr-export output" in output
    code, output = _train(tmp_path, "--data", words, "--split", "test")
    assert code == 2 and "no split 'test'" in output and "train, val" in output
    code, output = _train(tmp_path, "--data", words, "--height", "30")
    assert code == 2 and "--height 30" in output
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_training_refuses_an_export_of_class_folders_only(tmp_path):
    font = debian_font(NANUM / "NanumGothic.ttf")
    code, output = run_cli(
        "ocr-export", font, "--kind", "syllables", "--count", "20", "--format", "classes",
        "--out", tmp_path / "classes", "--quiet",
    )  # fmt: skip
    assert code == 0, output
    code, output = _train(tmp_path, "--data", tmp_path / "classes")
    assert code == 2 and "--format lmdb" in output


def test_ocr_eval_refuses_other_runs_and_other_folders(tmp_path, words, trained):
    code, output = run_cli("ocr-eval", tmp_path, "--data", words)
    assert code == 2 and "not a run" in output
    other = tmp_path / "dcgan-run"
    other.mkdir()
    RunConfig(model="dcgan", model_config={}, train=TrainConfig()).save(other)
    code, output = run_cli("ocr-eval", other, "--data", words)
    assert code == 2 and "'dcgan' run" in output and "crnn" in output
    code, output = run_cli("ocr-eval", trained["trained"], "--data", tmp_path)
    assert code == 2 and "not an ocr-export output" in output
    code, output = run_cli("ocr-eval", trained["trained"], "--data", words)  # no test split
    assert code == 2 and "no split 'test'" in output
    code, output = run_cli("ocr-eval", trained["trained"], "--data", words, "--batch", "0")
    assert code == 2 and "--batch 0" in output


def test_a_missing_or_broken_image_is_named(tmp_path, trained):
    export = _export(tmp_path / "gt", _words_file(tmp_path, 10), "--format", "gt")
    (export / "gt" / "images" / "000000003.png").unlink()
    code, output = run_cli("ocr-eval", trained["trained"], "--data", export)
    assert code == 2 and "000000003.png: cannot read" in output
    (export / "gt" / "images" / "000000003.png").write_bytes(b"not a png")
    code, output = run_cli("ocr-eval", trained["trained"], "--data", export)
    assert code == 2 and "sample 3 is no image" in output


def test_labels_outside_the_alphabet_count_as_errors(tmp_path, trained):
    # the words of another vocabulary: 가 and 나 are known, 한 and 글 are not
    text = tmp_path / "other.txt"
    text.write_text("한글\n가나\n", encoding="utf-8")
    export = _export(tmp_path / "other", text)
    code, output = run_cli("ocr-eval", trained["trained"], "--data", export, "--json")
    assert code == 0, output
    result = json.loads(output)
    assert result["unknown_characters"] == 2 and result["split"] == "all"
    assert result["character_errors"] >= 2


def test_the_model_needs_an_alphabet():
    from hangulgan.ocr.crnn_config import CRNNConfig
    from hangulgan.train.contract import DataInfo

    with pytest.raises(ConfigError, match="alphabet"):
        CRNN(CRNNConfig(), DataInfo())
    with pytest.raises(ConfigError, match="more than once"):
        CRNNConfig(alphabet="가가").validate()


@pytest.mark.parametrize(
    ("field", "value", "flag"),
    [("height", 10**7 * 16, "--height"), ("channels", 10**7, "--channels"),
     ("hidden", 10**7, "--hidden"), ("layers", 10**7, "--layers")],
)  # fmt: skip
def test_sizes_are_bounded_before_anything_is_allocated(field, value, flag):
    """A size of 10**7 in a run's config.json is a ConfigError naming it, not an
    out-of-memory crash."""
    from hangulgan.ocr.crnn_config import CRNNConfig

    CRNNConfig().validate()
    with pytest.raises(ConfigError, match=flag):
        CRNNConfig(**{field: value}).validate()


# ------------------------------------------------------------------------ end to end


@pytest.mark.slow
def test_lines_of_real_text_are_read_after_a_short_run(tmp_path):
    """Built-in lines of real Korean (Hangul, digits, Latin, punctuation) in one face: a
    few hundred steps read the held-back lines at a low error rate."""
    font = debian_font(NANUM / "NanumGothic.ttf")
    export = tmp_path / "lines"
    code, output = run_cli(
        "ocr-export", font, "--kind", "lines", "--count", "1000", "--format", "lmdb",
        "--split", "0.9,0.1", "--out", export, "--quiet",
    )  # fmt: skip
    assert code == 0, output
    # the small model: 300 steps of 16 lines read the held-back lines at a CER of 0.08
    # (measured; a few minutes of CPU)
    code, output = run_cli(
        "train", "crnn", "--data", export, "--run", tmp_path / "run", "--steps", 300,
        "--batch", "16", "--channels", "8", "--hidden", "64", "--sequence", "conv",
        "--lr", "3e-3", "--no-progress", "--sample-every", "0",
    )  # fmt: skip
    assert code == 0, output
    code, output = run_cli(
        "ocr-eval", tmp_path / "run", "--data", export, "--split", "val", "--json"
    )
    assert code == 0, output
    assert json.loads(output)["cer"] < 0.3


def test_ocr_eval_help_imports_no_torch():
    from test_train_help import imported_after

    code = """
        from hangulgan.cli import main
        try:
            main(["ocr-eval", "--help"], standalone_mode=False)
        except SystemExit as done:
            assert done.code in (0, None), done.code
        """
    assert imported_after(code) == []
