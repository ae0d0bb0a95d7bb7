"""``hangulgan ocr-export``: every format read back the way its trainer reads it, coverage
(no label for a glyph its source lacks), and bad input."""

from __future__ import annotations

import errno
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from hangulgan import hangul
from hangulgan.cli import main
from hangulgan.data.glyphset import GlyphSet
from hangulgan.errors import DiskFullError
from hangulgan.ocr import export as export_module
from hangulgan.ocr import writers as writers_module
from hangulgan.ocr.export import ExportOptions, export, plan_splits
from hangulgan.ocr.setting import render_text
from hangulgan.ocr.sources import open_sources

NANUM = Path("/usr/share/fonts/truetype/nanum")
FACES = ("NanumGothic.ttf", "NanumMyeongjo.ttf")
CHARSET = "가나다라마바사아자차카타파하한글으로는에서"
BLANKED = "하"  # the glyph the damaged set draws empty
SPLITS = ("train", "val", "test")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Two Nanum faces rendered with 21 syllables, and a copy of one with 하 blanked."""
    for face in FACES:
        if not (NANUM / face).exists():
            pytest.skip(f"{NANUM / face} not installed (run make fonts)")
    root = tmp_path_factory.mktemp("ocr")
    charset = root / "charset.txt"
    charset.write_text(CHARSET, encoding="utf-8")
    result = CliRunner().invoke(
        main,
        [
            "render",
            *(str(NANUM / f) for f in FACES),
            str(root / "corpus"),
            "--charset",
            str(charset),
            "--workers",
            "1",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    face = GlyphSet.load(root / "corpus" / "faces" / "NanumGothic", mmap=False)
    images = face.images.copy()
    images[face.index_of(BLANKED)] = 0
    GlyphSet(images, face.codepoints, "Blanked", dict(face.meta)).save(root / "blanked")
    return root


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def read_gt(folder: Path) -> list[tuple[str, str]]:
    """gt.txt as create_lmdb_dataset.py reads it: ``path<TAB>label``, paths relative."""
    pairs = []
    for line in (folder / "gt.txt").read_text(encoding="utf-8").splitlines():
        path, label = line.split("\t")
        Image.open(folder / path).convert("L").load()
        pairs.append((path, label))
    return pairs


def read_lmdb(folder: Path) -> list[str]:
    """Like deep-text-recognition-benchmark's LmdbDataset: num-samples, keys from 1."""
    import lmdb

    env = lmdb.open(
        str(folder), max_readers=32, readonly=True, lock=False, readahead=False, meminit=False
    )
    labels = []
    with env.begin(write=False) as txn:
        n = int(txn.get(b"num-samples"))
        assert txn.get(b"image-%09d" % 0) is None  # counts from 1
        assert txn.get(b"label-%09d" % (n + 1)) is None
        for index in range(1, n + 1):
            labels.append(txn.get(b"label-%09d" % index).decode("utf-8"))
            buf = io.BytesIO(txn.get(b"image-%09d" % index))
            Image.open(buf).convert("RGB").load()
    env.close()
    return labels


def read_easyocr(folder: Path) -> list[tuple[str, str]]:
    """labels.csv as EasyOCR's trainer reads it (pandas, sep='^([^,]+),': first comma)."""
    lines = (folder / "labels.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "filename,words"
    rows = []
    for line in lines[1:]:
        name, words = re.match(r"^([^,]+),(.*)$", line).groups()
        Image.open(folder / name).convert("L").load()
        rows.append((name, words))
    return rows


def test_words_in_gt_lmdb_and_easyocr_read_back(corpus, tmp_path):
    out = tmp_path / "ocr"
    result = run(
        "ocr-export",
        str(corpus / "corpus"),
        "--out",
        str(out),
        "--kind",
        "words",
        "--count",
        "40",
        "--format",
        "gt,lmdb,easyocr",
        "--augment",
        "--seed",
        "3",
    )
    assert result.exit_code == 0, result.output
    gt = read_gt(out / "gt")
    assert len(gt) == 40
    labels = [label for _, label in gt]
    assert read_lmdb(out / "lmdb") == labels
    assert [w for _, w in read_easyocr(out / "easyocr")] == labels
    # built-in real text, set from the fonts the corpus faces were rendered from
    assert all(label and label == label.strip() for label in labels)
    assert any(not all(hangul.is_syllable(ord(c)) for c in label) for label in labels)
    charset = (out / "charset.txt").read_text(encoding="utf-8").split("\n")[:-1]
    assert sorted(set("".join(labels)) - {" "}) == charset
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["complete"] and manifest["counts"] == {"all": 40} and manifest["seed"] == 3
    assert {s["name"].split("::")[-1] for s in manifest["sources"]} == {
        "NanumGothic",
        "NanumMyeongjo",
    }
    assert {s["origin"] for s in manifest["sources"]} == {"corpus font"}
    first = Image.open(out / "gt" / gt[0][0])
    assert first.height == 32 and first.width > 8


def test_classes_one_folder_per_syllable(corpus, tmp_path):
    out = tmp_path / "cls"
    result = run(
        "ocr-export",
        f"{corpus / 'corpus'}::NanumGothic",
        "--out",
        str(out),
        "--kind",
        "syllables",
        "--count",
        "30",
        "--format",
        "classes",
    )
    assert result.exit_code == 0, result.output
    # as torchvision's ImageFolder reads it: sorted class folders of images
    classes = sorted(p.name for p in (out / "classes").iterdir())
    assert classes and set(classes) <= set(CHARSET)
    images = [p for c in classes for p in (out / "classes" / c).iterdir()]
    assert len(images) == 30
    for path in images:
        pixels = np.asarray(Image.open(path).convert("L"))
        assert pixels.min() < 128  # ink: never an empty glyph


def test_no_sample_holds_an_empty_glyph(corpus, tmp_path):
    # alone, the blanked set cannot set 하: every line with it is skipped and counted
    text = tmp_path / "lines.txt"
    text.write_text("가나다\n하나\n마바사\n한글 하다\n", encoding="utf-8")
    out = tmp_path / "alone"
    result = run(
        "ocr-export",
        str(corpus / "blanked"),
        "--out",
        str(out),
        "--text",
        str(text),
        "--kind",
        "lines",
        "--format",
        "gt",
    )
    assert result.exit_code == 1, result.output
    assert "skipped 2 text samples" in result.output
    assert [label for _, label in read_gt(out / "gt")] == ["가나다", "마바사"]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["skipped_text"]["count"] == 2

    # with a face that draws 하, those lines are set from that face only
    refs = [str(corpus / "blanked"), f"{corpus / 'corpus'}::NanumGothic"]
    sources = open_sources(refs, tmp_path / "fonts")
    blanked = sources[0]
    # the glyph set's font leaves the empty glyph unmapped: never a blank in its place
    assert blanked.face_of(BLANKED) == -1 and blanked.face_of("가") == 0
    options = ExportOptions(kind="lines", count=200)
    texts = ["가나다", "하나", "한글 하다"]
    plans, skipped = plan_splits(sources, texts, options, np.random.default_rng(0))
    assert not skipped
    rng = np.random.default_rng(1)
    pairs = export_module._texts_for(plans[0], 0, 200, options, rng, None)
    assert {s.name for s, _ in pairs} == {s.name for s in sources}
    for source, label in pairs:
        assert source.holds(label)
        assert not (source is blanked and BLANKED in label)
    # and every glyph of every sample draws ink
    for source, text in pairs[:20]:
        for ch in text.replace(" ", ""):
            assert render_text(source, ch, 32, None, rng).min() < 128


def test_split_by_face_gives_each_split_its_own_faces(corpus, tmp_path):
    out = tmp_path / "split"
    result = run(
        "ocr-export",
        str(corpus / "corpus"),
        "--out",
        str(out),
        "--count",
        "20",
        "--format",
        "gt,lmdb",
        "--split",
        "0.5,0.5",
        "--by",
        "face",
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    train, val = manifest["splits"]["train"], manifest["splits"]["val"]
    assert not set(train["sources"]) & set(val["sources"])
    assert set(train["per_source"]) == set(train["sources"])
    assert len(read_lmdb(out / "lmdb" / "train")) == 10 == len(read_gt(out / "gt" / "val"))


def test_empty_text_file_is_an_error(corpus, tmp_path):
    text = tmp_path / "empty.txt"
    text.write_text("\n  \n", encoding="utf-8")
    result = run(
        "ocr-export", str(corpus / "corpus"), "--out", str(tmp_path / "o"), "--text", str(text)
    )
    assert result.exit_code == 2
    assert f"{text}: holds no text" in result.output
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "content, problem",
    [
        ("ꙮꙮ\n괅\n".encode(), "no source draws every character of any of its lines"),
        ("한글\n".encode("euc-kr"), "not UTF-8"),
        (b"\n  \n", "holds no text"),
        (b"", "holds no text"),
    ],
)
def test_a_text_file_that_gives_nothing_is_one_line_naming_it(corpus, tmp_path, content, problem):
    # ꙮ: no Nanum face (and no fallback) draws it; 괅: outside the corpus's charset
    text = tmp_path / "lines.txt"
    text.write_bytes(content)
    result = run(
        "ocr-export", str(corpus / "corpus"), "--out", str(tmp_path / "o"), "--text", str(text)
    )
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {text}: ") and problem in result.output
    assert result.output.count("\n") == 1
    # the input is checked before the output: a taken OUT does not hide the text's problem
    (tmp_path / "taken" / "gt").mkdir(parents=True, exist_ok=True)
    result = run(
        "ocr-export", str(corpus / "corpus"), "--out", str(tmp_path / "taken"), "--text", str(text)
    )
    assert result.exit_code == 2 and problem in result.output, result.output


def test_existing_lmdb_is_refused_without_force(corpus, tmp_path):
    out = tmp_path / "o"
    args = [
        "ocr-export",
        str(corpus / "corpus"),
        "--out",
        str(out),
        "--count",
        "5",
        "--format",
        "lmdb",
    ]
    assert run(*args).exit_code == 0
    before = read_lmdb(out / "lmdb")
    result = run(*args, "--seed", "9")
    assert result.exit_code == 2
    assert f"{out / 'lmdb'}: already exists (overwrite it with --force)" in result.output
    assert read_lmdb(out / "lmdb") == before
    assert run(*args, "--count", "7", "--force").exit_code == 0
    assert len(read_lmdb(out / "lmdb")) == 7


def test_force_replaces_only_an_earlier_export(corpus, tmp_path):
    """--force replaces the outputs of an earlier ocr-export, never a folder of the user's
    that merely holds files of the same names (ocr-merge refuses it alike)."""
    out = tmp_path / "mine"
    (out / "gt").mkdir(parents=True)
    (out / "gt" / "gt.txt").write_text("my labels\n", encoding="utf-8")
    (out / "manifest.json").write_text('{"my": "project"}\n', encoding="utf-8")
    (out / "charset.txt").write_text("my charset\n", encoding="utf-8")
    args = ["ocr-export", str(corpus / "corpus"), "--out", str(out), "--count", "5", "--force"]
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert f"{out / 'manifest.json'}: not a hangulgan OCR export" in result.output
    assert (out / "gt" / "gt.txt").read_text(encoding="utf-8") == "my labels\n"
    assert (out / "manifest.json").read_text(encoding="utf-8") == '{"my": "project"}\n'
    assert (out / "charset.txt").read_text(encoding="utf-8") == "my charset\n"
    (out / "manifest.json").unlink()
    result = run(*args)
    assert result.exit_code == 2 and "--force replaces only" in result.output, result.output
    assert (out / "gt" / "gt.txt").is_file() and (out / "charset.txt").is_file()


def test_an_export_stopped_part_way_is_still_replaced_by_force(corpus, tmp_path, monkeypatch):
    """The manifest (complete: false) is written before the first sample, so a run that
    stops part-way leaves a folder that --force recognises as its own."""
    calls = {"n": 0}
    real = export_module._write_split

    def stopping(*args, **kwargs):
        calls["n"] += 1
        raise KeyboardInterrupt

    monkeypatch.setattr(export_module, "_write_split", stopping)
    sources = open_sources([str(corpus / "corpus")], tmp_path / "fonts")
    out = tmp_path / "o"
    with pytest.raises(KeyboardInterrupt):
        export(sources, out, ExportOptions(kind="words", count=5))
    assert calls["n"] == 1 and (out / "gt").is_dir()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["complete"] is False
    monkeypatch.setattr(export_module, "_write_split", real)
    summary = export(sources, out, ExportOptions(kind="words", count=5), force=True)
    assert summary.written == {"all": 5} and len(read_gt(out / "gt")) == 5


@pytest.mark.parametrize(
    "bad",
    [
        ["--count", "0"],
        ["--count", "3", "--split", "0.5,0.4"],
        ["--count", "3", "--format", "classes"],
    ],
)
def test_bad_options(corpus, tmp_path, bad):
    result = run("ocr-export", str(corpus / "corpus"), "--out", str(tmp_path / "o"), *bad)
    assert result.exit_code == 2
    assert result.output.startswith("error: --")
    assert not (tmp_path / "o").exists()


def test_full_disk_mid_run_leaves_whole_samples_readable(corpus, tmp_path, monkeypatch):
    files = {"n": 0}
    real = writers_module._write_file

    def filling(path, data):
        files["n"] += 1
        if files["n"] > 25:  # the third batch of 10 fails part-way
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path, data)

    monkeypatch.setattr(writers_module, "_write_file", filling)
    sources = open_sources([str(corpus / "corpus")], tmp_path / "fonts")
    options = ExportOptions(kind="words", count=50, formats=("lmdb", "gt"), batch=10)
    with pytest.raises(DiskFullError, match=r"no space left on device; 20 samples were written"):
        export(sources, tmp_path / "o", options)
    assert len(read_lmdb(tmp_path / "o" / "lmdb")) == 20
    assert len(read_gt(tmp_path / "o" / "gt")) == 20
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["complete"] is False and manifest["counts"] == {"all": 20}


def test_syllables_from_text_as_jpeg_classes_with_odd_characters(corpus, tmp_path):
    # a glyph set that draws "/" (built into a font first) beside a face
    face = GlyphSet.load(corpus / "corpus" / "faces" / "NanumGothic", mmap=False)
    slash = np.zeros((1, *face.images.shape[1:]), dtype=np.uint8)
    slash[0, 4:28, 14:18] = 255
    GlyphSet(slash, np.array([ord("/")]), "Slash", dict(face.meta)).save(tmp_path / "slash")
    text = tmp_path / "chars.txt"
    text.write_text("가나 /\n가ꙮ\n", encoding="utf-8")
    out = tmp_path / "o"
    result = run(
        "ocr-export", f"{corpus / 'corpus'}::NanumMyeongjo", str(tmp_path / "slash"),
        "--text", str(text), "--kind", "syllables", "--out", str(out), "--format",
        "gt,classes", "--image-format", "jpg", "--augment", "--count", "12",
    )  # fmt: skip
    assert result.exit_code == 1, result.output  # ꙮ: no source draws it
    assert "skipped 1 text samples" in result.output
    labels = [label for _, label in read_gt(out / "gt")]
    assert len(labels) == 12 and set(labels) == {"가", "나", "/"}
    assert sorted(p.name for p in (out / "classes").iterdir()) == ["U+002F", "가", "나"]
    image = Image.open(next((out / "classes" / "U+002F").iterdir()))
    assert image.format == "JPEG"


def test_same_seed_same_samples(corpus, tmp_path):
    def make(out: Path) -> list[bytes]:
        args = ["ocr-export", str(corpus / "corpus"), "--out", str(out), "--kind", "lines"]
        assert run(*args, "--count", "12", "--augment", "--seed", "5").exit_code == 0
        return [(out / "gt" / p).read_bytes() for p, _ in read_gt(out / "gt")]

    first, second = make(tmp_path / "a"), make(tmp_path / "b")
    assert first == second
    assert (tmp_path / "a" / "gt" / "gt.txt").read_text() == (
        tmp_path / "b" / "gt" / "gt.txt"
    ).read_text()


def private_tmpfs_works() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt 2>/dev/null"],
        capture_output=True,
    )
    return probe.returncode == 0


READER = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from test_ocr_export import read_gt, read_lmdb
root = Path(sys.argv[1])
print("readable", len(read_gt(root / "gt")), len(read_lmdb(root / "lmdb")))
"""


@pytest.mark.slow
@pytest.mark.skipif(not private_tmpfs_works(), reason="no private mount namespace here")
def test_a_real_full_disk_leaves_whole_batches_readable(corpus, tmp_path):
    # LMDB says "Input/output error" when its commit finds no room: still a full disk
    mount = tmp_path / "disk"
    mount.mkdir()
    python = sys.executable
    script = (
        f"mount -t tmpfs -o size=8m tmpfs {mount} && "
        f"{python} -m hangulgan ocr-export {corpus / 'corpus'} --out {mount}/o --count 5000 "
        f"--augment --format gt,lmdb; rc=$?; "
        f"{python} -c '{READER}' {mount}/o {Path(__file__).parent}; exit $rc"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    result = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, env=env,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    error = result.stderr.strip()
    match = re.fullmatch(
        rf"error: {mount}/o/\w+: no space left on device; (\d+) samples were written whole "
        r"in every format and stay readable \(all: \d+\)",
        error,
    )
    assert match, error
    gt, lmdb_count = map(int, re.search(r"readable (\d+) (\d+)", result.stdout).groups())
    assert min(gt, lmdb_count) == int(match.group(1)) > 0


def test_a_plain_run_does_not_import_torch(corpus, tmp_path):
    # torch is only for --augment: a plain export starts in well under a second
    code = (
        "import sys\n"
        "from hangulgan.cli import main\n"
        "try:\n"
        f"    main(['ocr-export', {str(corpus / 'corpus')!r}, '--out', {str(tmp_path / 'o')!r},"
        " '--count', '3'])\n"
        "except SystemExit as end:\n"
        "    assert end.code == 0, end.code\n"
        "print('torch' in sys.modules)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("False")


def test_text_lines_split_by_sample_never_land_in_two_splits(corpus, tmp_path):
    lines = sorted({a + b + c for a in "가나다" for b in "라마바" for c in "사아"})  # 18
    text = tmp_path / "lines.txt"
    text.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "o"
    result = run("ocr-export", str(corpus / "corpus"), "--out", str(out), "--text", str(text),
                 "--split", "0.5,0.25,0.25")  # fmt: skip
    assert result.exit_code == 0, result.output
    parts = [[label for _, label in read_gt(out / "gt" / split)] for split in SPLITS]
    assert [len(p) for p in parts] == [9, 4, 5] or [len(p) for p in parts] == [9, 5, 4]
    assert sorted(sum(parts, [])) == lines  # each line once, in exactly one split


def hierarchical_leaves(root: Path) -> list[str]:
    """The folders deep-text-recognition-benchmark's ``hierarchical_dataset(root)`` opens
    as LMDBs: it walks ``root + '/'`` and takes every folder without subfolders."""
    return sorted(dirpath for dirpath, dirnames, _ in os.walk(str(root) + "/") if not dirnames)


@pytest.mark.parametrize("split", [None, "0.8,0.2"])
def test_the_lmdb_root_holds_only_lmdbs(corpus, tmp_path, split):
    out = tmp_path / "ocr"
    args = ["--format", "gt,lmdb,easyocr", *(["--split", split] if split else [])]
    result = run("ocr-export", str(corpus / "corpus"), "--out", str(out), "--count", "10", *args)
    assert result.exit_code == 0, result.output
    leaves = hierarchical_leaves(out / "lmdb")
    wanted = [str(out / "lmdb") + "/"] if split is None else [
        str(out / "lmdb" / s) for s in ("train", "val")
    ]  # fmt: skip
    assert leaves == wanted
    for leaf in leaves:  # each one an LMDB as LmdbDataset opens it, and nothing else
        assert sorted(os.listdir(leaf)) == ["data.mdb", "lock.mdb"]
        assert len(read_lmdb(Path(leaf))) == (10 if split is None else 8 if "train" in leaf else 2)
    # the other formats and files lie beside the LMDB root, never below it
    assert sorted(p.name for p in out.iterdir()) == [
        "charset.txt", "easyocr", "gt", "lmdb", "manifest.json"
    ]  # fmt: skip


def image_folder_classes(root: Path) -> dict[str, int]:
    """torchvision's ImageFolder.find_classes: sorted sub-folder names, numbered from 0."""
    names = sorted(entry.name for entry in os.scandir(root) if entry.is_dir())
    return {name: i for i, name in enumerate(names)}


@pytest.mark.parametrize("by", ["sample", "face"])
def test_class_folders_share_one_index_across_splits(corpus, tmp_path, by):
    out = tmp_path / "cls"
    result = run(
        "ocr-export", str(corpus / "corpus"), str(corpus / "blanked"), "--out", str(out),
        "--kind", "syllables", "--count", "100", "--format", "classes", "--split",
        "0.5,0.25,0.25", "--by", by,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    indices = [image_folder_classes(out / "classes" / s) for s in SPLITS]
    assert indices[0] == indices[1] == indices[2]
    listed = (out / "classes.txt").read_text(encoding="utf-8").splitlines()
    assert {name: i for i, name in enumerate(listed)} == indices[0]
    assert set(listed) == set(CHARSET)
    if by == "sample":
        # every character in shuffled rounds: with 21 or more samples, every class has one
        for s in SPLITS:
            assert all(any((out / "classes" / s / name).iterdir()) for name in listed)
