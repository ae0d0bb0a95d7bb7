"""``ocr-export --shard i/n`` and ``ocr-merge``: shards split --count (or the --text lines)
exactly and draw disjoint random streams, agree on the splits; the merge renumbers every
format from 1 without gaps, read back as the trainers read them, and refuses what it
cannot join."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import test_ocr_export
from test_ocr_export import read_easyocr, read_gt, read_lmdb, run

from hangulgan.ocr import merge as merge_module
from hangulgan.ocr.export import ExportOptions, _shares, plan_splits, shard_slices
from hangulgan.ocr.sources import open_sources

# the two-face corpus of the export tests (a module fixture: rendered once here too)
corpus = test_ocr_export.corpus


def export(corpus: Path, out: Path, *args: str) -> dict:
    result = run("ocr-export", str(corpus / "corpus"), "--out", str(out), "--quiet", *args)
    assert result.exit_code == 0, result.output
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def merge(*args: str):
    return run("ocr-merge", "--quiet", *args)


def lmdb_keys(folder: Path) -> set[bytes]:
    import lmdb

    env = lmdb.open(str(folder), readonly=True, lock=False)
    with env.begin() as txn:
        keys = {bytes(key) for key, _ in txn.cursor()}
    env.close()
    return keys


def lmdb_image(folder: Path, number: int) -> bytes:
    import lmdb

    env = lmdb.open(str(folder), readonly=True, lock=False)
    with env.begin() as txn:
        data = bytes(txn.get(b"image-%09d" % number))
    env.close()
    return data


def test_shard_slices_cut_every_split_exactly():
    for total in (1, 2, 7, 50, 101):
        for fractions in ((1.0,), (0.9, 0.1), (0.5, 0.25, 0.25), (0.0, 0.5, 0.5)):
            for of in (1, 2, 3, 8):
                cuts = [shard_slices(total, fractions, (i, of)) for i in range(1, of + 1)]
                for split, whole in enumerate(_shares(total, fractions)):
                    at = 0
                    for cut in cuts:  # consecutive runs that tile the split
                        first, count = cut[split]
                        assert first == at
                        at += count
                    assert at == whole
                sizes = [sum(n for _, n in cut) for cut in cuts]
                assert sum(sizes) == total and max(sizes) - min(sizes) <= 1


def test_shards_draw_their_own_streams_and_merge_without_gaps(corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(merge_module, "MERGE_BATCH", 7)  # several LMDB commits per part
    common = ["--count", "50", "--format", "gt,lmdb,easyocr", "--split", "0.8,0.2", "--augment"]
    whole = export(corpus, tmp_path / "whole", *common)
    parts = [tmp_path / f"p{i}" for i in (1, 2, 3)]
    manifests = [export(corpus, p, *common, "--shard", f"{i}/3") for i, p in enumerate(parts, 1)]
    assert [m["shard"] for m in manifests] == [[1, 3], [2, 3], [3, 3]]
    assert [m["options"]["shard"] for m in manifests] == [[1, 3], [2, 3], [3, 3]]
    for split in ("train", "val"):
        assert sum(m["counts"][split] for m in manifests) == whole["counts"][split]
    assert sum(sum(m["counts"].values()) for m in manifests) == 50

    labels = {p: {s: read_lmdb(p / "lmdb" / s) for s in ("train", "val")} for p in parts}
    # each shard its own random stream: not the unsharded run's, not another shard's
    streams = [labels[p]["train"][:10] for p in parts]
    streams.append(read_lmdb(tmp_path / "whole" / "lmdb" / "train")[:10])
    assert len({tuple(s) for s in streams}) == 4
    images = [(p / "gt" / "train" / "images" / "000000001.png").read_bytes() for p in parts]
    assert len(set(images)) == 3

    out = tmp_path / "merged"
    result = merge(str(parts[2]), str(parts[0]), str(parts[1]), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "merged 50 samples from 3 parts" in result.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["complete"] and manifest["counts"] == whole["counts"]
    assert [p["shard"] for p in manifest["parts"]] == [[1, 3], [2, 3], [3, 3]]
    assert manifest["missing_shards"] == []
    for split in ("train", "val"):
        n = whole["counts"][split]
        merged = read_lmdb(out / "lmdb" / split)  # num-samples, keys 1..n, PIL decodes each
        assert len(merged) == n
        assert lmdb_keys(out / "lmdb" / split) == {b"num-samples"} | {
            b"%s-%09d" % (kind, i) for kind in (b"image", b"label") for i in range(1, n + 1)
        }
        # in shard order whatever order the parts were named in
        assert merged == sum((labels[p][split] for p in parts), [])
        assert Counter(merged) == Counter(label for p in parts for label in labels[p][split])
        gt = read_gt(out / "gt" / split)  # opens every named image
        assert [label for _, label in gt] == merged
        assert [name for name, _ in gt] == [f"images/{i:09d}.png" for i in range(1, n + 1)]
        easy = read_easyocr(out / "easyocr" / split)
        assert [label for _, label in easy] == merged
        # one sample, one number in every format
        last = (out / "gt" / split / gt[-1][0]).read_bytes()
        assert lmdb_image(out / "lmdb" / split, n) == last
    charsets = [set((p / "charset.txt").read_text(encoding="utf-8").split()) for p in parts]
    assert (out / "charset.txt").read_text(encoding="utf-8").split() == sorted(set.union(*charsets))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left


def test_text_shards_take_disjoint_slices_of_the_lines(corpus, tmp_path):
    lines = sorted({a + b + c for a in "가나다" for b in "라마바" for c in "사아"})  # 18
    text = tmp_path / "lines.txt"
    text.write_text("\n".join(lines) + "\n", encoding="utf-8")
    common = ["--text", str(text), "--split", "0.5,0.5", "--format", "gt,lmdb"]
    export(corpus, tmp_path / "whole", *common)
    parts = [tmp_path / f"p{i}" for i in (1, 2, 3)]
    for i, part in enumerate(parts, 1):
        export(corpus, part, *common, "--shard", f"{i}/3")
    seen = [label for p in parts for s in ("train", "val") for _, label in read_gt(p / "gt" / s)]
    assert sorted(seen) == lines  # every line once: the slices neither overlap nor miss
    assert merge(*map(str, parts), "--out", str(tmp_path / "m")).exit_code == 0
    for split in ("train", "val"):
        # the merged shards hold the unsharded run's lines, in its order
        assert read_lmdb(tmp_path / "m" / "lmdb" / split) == [
            label for _, label in read_gt(tmp_path / "whole" / "gt" / split)
        ]


def test_split_by_face_is_the_same_in_every_shard(corpus, tmp_path):
    common = ["--count", "12", "--format", "lmdb", "--split", "0.5,0.5", "--by", "face"]
    whole = export(corpus, tmp_path / "whole", *common)
    shards = [export(corpus, tmp_path / f"p{i}", *common, "--shard", f"{i}/2") for i in (1, 2)]
    for split in ("train", "val"):
        faces = [m["splits"][split]["sources"] for m in (whole, *shards)]
        assert faces[0] == faces[1] == faces[2]
    result = merge(str(tmp_path / "p1"), str(tmp_path / "p2"), "--out", str(tmp_path / "m"))
    assert result.exit_code == 0, result.output
    assert len(read_lmdb(tmp_path / "m" / "lmdb" / "val")) == whole["counts"]["val"]

    # a shard of another --seed that deals the faces the other way round is refused
    sources = open_sources([str(corpus / "corpus")], tmp_path / "fonts")
    options = ExportOptions(count=12, split=(0.5, 0.5), by="face")

    def train_faces(seed: int) -> list[str]:
        plans, _ = plan_splits(sources, None, options, np.random.default_rng(seed))
        return [source.name for source in plans[0].sources]

    assert train_faces(0) == whole["splits"]["train"]["sources"]
    seed = next(s for s in range(1, 50) if train_faces(s) != train_faces(0))
    export(corpus, tmp_path / "other", *common, "--seed", str(seed), "--shard", "2/2")
    result = merge(str(tmp_path / "p1"), str(tmp_path / "other"), "--out", str(tmp_path / "x"))
    assert result.exit_code == 2
    assert f"error: {tmp_path / 'other'}: split train holds faces" in result.output
    assert "every part must give a split the same faces" in result.output
    assert not (tmp_path / "x").exists()


def test_classes_merge_renames_so_nothing_collides(corpus, tmp_path):
    common = ["--kind", "syllables", "--count", "30", "--format", "classes,gt"]
    parts = [tmp_path / "p1", tmp_path / "p2"]
    for i, part in enumerate(parts, 1):
        export(corpus, part, *common, "--shard", f"{i}/2")
    out = tmp_path / "m"
    assert merge(*map(str, parts), "--out", str(out)).exit_code == 0
    files = sorted((out / "classes").glob("*/*.png"))
    assert sorted(f.name for f in files) == [f"{i:09d}.png" for i in range(1, 31)]
    gt = dict(read_gt(out / "gt"))
    for path in files:  # the class file and the gt image of one number are one sample
        assert gt[f"images/{path.name}"] == path.parent.name
        assert path.read_bytes() == (out / "gt" / "images" / path.name).read_bytes()


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (["--height", "40"], "made with --height 40, {p1} with --height 32"),
        (["--format", "gt"], "has formats gt, {p1} gt,lmdb"),
        (["--split", "0.5,0.5"], "has splits train, val, {p1} all"),
        (["--kind", "lines"], "made with --kind lines, {p1} with --kind words"),
        (["--image-format", "jpg"], "made with --image-format jpg"),
        (["--shard", "1/2"], "shard 1/2 of seed 0 from the same sources is also in {p1}"),
        (["--shard", "2/3"], "overlaps another part of the same run cut another way"),
        (["--seed", "0"], "overlaps another part of the same run"),  # unsharded + a shard
    ],
)
def test_parts_that_cannot_be_joined_are_refused(corpus, tmp_path, second, message):
    p1, p2 = tmp_path / "p1", tmp_path / "p2"
    export(corpus, p1, "--count", "6", "--format", "gt,lmdb", "--shard", "1/2")
    base = ["--count", "6", "--format", "gt,lmdb"]
    base += [] if "--shard" in second or second[0] == "--seed" else ["--shard", "2/2"]
    export(corpus, p2, *base, *second)
    result = merge(str(p1), str(p2), "--out", str(tmp_path / "m"))
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {p2}: ")
    assert message.format(p1=p1) in result.output
    assert not (tmp_path / "m").exists()


def test_what_is_not_an_export_is_refused(corpus, tmp_path):
    part = tmp_path / "p1"
    export(corpus, part, "--count", "4", "--format", "lmdb", "--shard", "1/2")
    out = str(tmp_path / "m")
    (tmp_path / "plain").mkdir()
    result = merge(str(part), str(tmp_path / "plain"), "--out", out)
    assert result.exit_code == 2
    assert f"{tmp_path / 'plain'}: not an ocr-export output (no manifest.json)" in result.output
    result = merge(str(part), str(corpus / "corpus"), "--out", out)
    assert result.exit_code == 2
    assert f"{corpus / 'corpus' / 'manifest.json'}: not a hangulgan OCR export" in result.output
    result = merge(str(part), str(part), "--out", out)
    assert result.exit_code == 2 and f"{part}: named twice" in result.output
    copy = tmp_path / "copy"
    shutil.copytree(part, copy)
    result = merge(str(part), str(copy), "--out", out)
    assert result.exit_code == 2 and "it would repeat its samples" in result.output
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["complete"] = False  # a run that stopped (full disk) part-way
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = merge(str(part), str(copy), "--out", out)
    assert result.exit_code == 2 and f"{copy}: an incomplete export" in result.output
    result = merge(str(part), "--out", str(part / "inside"))
    assert result.exit_code == 2 and "overlaps part" in result.output
    for bad in ("0/3", "4/3", "x"):
        result = run("ocr-export", str(corpus / "corpus"), "--out", out, "--count", "3",
                     "--shard", bad)  # fmt: skip
        assert result.exit_code == 2 and result.output.startswith(f"error: --shard {bad}: ")
    assert not Path(out).exists()


def test_one_shard_merges_and_names_the_missing(corpus, tmp_path):
    export(corpus, tmp_path / "p2", "--count", "9", "--format", "lmdb", "--shard", "2/3")
    result = merge(str(tmp_path / "p2"), "--out", str(tmp_path / "m"))
    assert result.exit_code == 0
    assert "note: shards 1/3, 3/3 of seed 0 were not among the parts" in result.output
    assert len(read_lmdb(tmp_path / "m" / "lmdb")) == 3


def test_existing_out_needs_force_and_an_interrupted_merge_leaves_it(corpus, tmp_path, monkeypatch):
    parts = [tmp_path / "p1", tmp_path / "p2"]
    for i, part in enumerate(parts, 1):
        export(corpus, part, "--count", "10", "--format", "lmdb,gt", "--shard", f"{i}/2")
    out = tmp_path / "m"
    assert merge(str(parts[0]), "--out", str(out)).exit_code == 0
    before = read_lmdb(out / "lmdb")
    result = merge(*map(str, parts), "--out", str(out))
    assert result.exit_code == 2
    assert f"error: {out}: already exists (replace it with --force)" in result.output
    assert read_lmdb(out / "lmdb") == before

    # stopped part-way (Ctrl-C in the second part's gt): OUT is still the earlier merge
    real = merge_module._Placer.__call__
    calls = {"n": 0}

    def interrupted(self, source, target):
        calls["n"] += 1
        if calls["n"] == 8:
            raise KeyboardInterrupt
        real(self, source, target)

    monkeypatch.setattr(merge_module._Placer, "__call__", interrupted)
    result = merge(*map(str, parts), "--out", str(out), "--force")
    assert result.exit_code == 130, (result.output, result.exception)
    assert read_lmdb(out / "lmdb") == before and len(read_gt(out / "gt")) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "p1", "p2"]  # no temp left
    monkeypatch.setattr(merge_module._Placer, "__call__", real)

    assert merge(*map(str, parts), "--out", str(out), "--force").exit_code == 0
    assert len(read_lmdb(out / "lmdb")) == 10 == len(read_gt(out / "gt"))
    # a merged dataset is itself a part: its shards are not taken twice
    result = merge(str(out), str(parts[1]), "--out", str(tmp_path / "again"))
    assert result.exit_code == 2 and "it would repeat its samples" in result.output

    # --force replaces only an earlier OCR dataset, never a folder of other files
    other = tmp_path / "notes"
    other.mkdir()
    (other / "todo.txt").write_text("keep me", encoding="utf-8")
    result = merge(*map(str, parts), "--out", str(other), "--force")
    assert result.exit_code == 2 and "--force replaces only" in result.output
    assert os.listdir(other) == ["todo.txt"]


def test_an_empty_out_folder_is_merged_into_without_force(corpus, tmp_path):
    """Regression: an existing empty OUT (made beforehand) passed the checks, then the
    atomic rename refused it: an internal error (exit 70) instead of a merge."""
    export(corpus, tmp_path / "p1", "--count", "6", "--format", "lmdb", "--shard", "1/2")
    out = tmp_path / "made-first"
    out.mkdir()
    result = merge(str(tmp_path / "p1"), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert len(read_lmdb(out / "lmdb")) == 3


def test_a_part_whose_list_names_a_missing_image_is_refused(corpus, tmp_path):
    for i in (1, 2):
        export(corpus, tmp_path / f"p{i}", "--count", "6", "--format", "gt", "--shard", f"{i}/2")
    (tmp_path / "p2" / "gt" / "images" / "000000002.png").unlink()
    result = merge(str(tmp_path / "p1"), str(tmp_path / "p2"), "--out", str(tmp_path / "m"))
    assert result.exit_code == 2
    assert f"{tmp_path / 'p2' / 'gt' / 'gt.txt'}: names images/000000002.png" in result.output
    assert not (tmp_path / "m").exists()
