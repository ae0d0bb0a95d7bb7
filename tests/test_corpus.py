"""Corpus writing (atomic, resumable), reading, the torch Dataset, preview and merge."""

import json
from pathlib import Path

import numpy as np
import pytest

from hangulgan import hangul
from hangulgan.data import corpus_manifest, corpus_merge, corpus_pool, corpus_render
from hangulgan.data.corpus import Corpus, open_glyphset
from hangulgan.data.corpus_manifest import RenderSettings
from hangulgan.data.corpus_merge import merge_corpora
from hangulgan.data.corpus_render import render_corpus
from hangulgan.data.dataset import GlyphDataset
from hangulgan.data.glyphset import GlyphSet
from hangulgan.data.sheets import preview_sheet
from hangulgan.errors import CorpusError, DiskFullError, GlyphSetError

import fontfactory

CHARS = [ord(c) for c in "가나다라한"]


def _settings(**kw):
    return RenderSettings(charset_name="test", charset=CHARS, **kw)


@pytest.fixture
def fonts(tmp_path):
    folder = tmp_path / "fonts"
    folder.mkdir()
    fontfactory.build_font(folder / "one.ttf", family="One")
    fontfactory.build_font(
        folder / "two.ttf",
        family="Two",
        shapes={ord("가"): [(0, 0, 500, 500)], ord("힣"): [(100, 100, 200, 900)]},
    )
    return folder


def test_render_writes_whole_faces_and_a_manifest(fonts, tmp_path):
    out = tmp_path / "corpus"
    summary = render_corpus([fonts], out, _settings(), progress=False)
    assert sorted(o.face_id for o in summary.rendered) == ["One-Regular", "Two-Regular"]
    corpus = Corpus.open(out)
    assert corpus.size == (32, 32) and corpus.placement == "em"
    one = corpus.face("One-Regular")
    assert one.text == "가나한"
    record = corpus.face_record("One-Regular")
    assert record["glyphs"] == 3 and record["missing"] == 1 and record["empty"] == ["U+B2E4"]
    assert record["file_name"] == "one.ttf" and record["face_index"] == 0
    # A face re-read equals what rendering produced.
    from hangulgan.data.render import render_face

    direct = render_face(str(fonts / "one.ttf"), CHARS)
    assert np.array_equal(np.asarray(one.images), direct.images)


def test_rerun_skips_done_faces_and_force_redoes_them(fonts, tmp_path):
    out = tmp_path / "corpus"
    render_corpus([fonts], out, _settings(), progress=False)
    again = render_corpus([fonts], out, _settings(), progress=False)
    assert not again.rendered and sorted(again.reused) == ["One-Regular", "Two-Regular"]
    forced = render_corpus([fonts], out, _settings(), force=True, progress=False)
    assert len(forced.rendered) == 2


def test_interrupted_render_leaves_only_whole_faces_and_resumes(fonts, tmp_path, monkeypatch):
    out = tmp_path / "corpus"
    real = corpus_render.render_one_face
    calls = []

    def crash_on_second(info, settings, out_dir, progress=None):
        calls.append(info.face_id)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(info, settings, out_dir, progress)

    monkeypatch.setattr(corpus_render, "render_one_face", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        render_corpus([fonts], out, _settings(), progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest["faces"]) == [calls[0]]
    # Only whole faces on disk: no temporary or half-written folder is left behind.
    assert [p.name for p in (out / "faces").iterdir()] == [calls[0]]
    monkeypatch.setattr(corpus_render, "render_one_face", real)
    resumed = render_corpus([fonts], out, _settings(), progress=False)
    assert resumed.reused == [calls[0]] and len(resumed.rendered) == 1


def test_parallel_render_matches_serial(fonts, tmp_path):
    serial = tmp_path / "serial"
    parallel = tmp_path / "parallel"
    render_corpus([fonts], serial, _settings(augment_copies=1), progress=False)
    render_corpus([fonts], parallel, _settings(augment_copies=1), workers=2, progress=False)
    for name in Corpus.open(serial).face_names:
        a, b = Corpus.open(serial).face(name), Corpus.open(parallel).face(name)
        assert np.array_equal(a.images, b.images)
        assert np.array_equal(a.augmented, b.augmented)  # seeded per face, not per worker


def test_augmented_copies_and_parameters_are_stored(fonts, tmp_path):
    out = tmp_path / "corpus"
    render_corpus([fonts], out, _settings(augment_copies=3, seed=5), progress=False)
    face = Corpus.open(out).face("One-Regular")
    assert face.augmented.shape == (3, 3, 32, 32)
    assert face.augment_params.shape == (3, 3, len(face.augment_param_names))
    manifest = Corpus.open(out).manifest
    assert manifest["augment"]["copies"] == 3 and manifest["augment"]["seed"] == 5


def test_settings_mismatch_and_bad_folders_are_clear_errors(fonts, tmp_path):
    out = tmp_path / "corpus"
    render_corpus([fonts], out, _settings(), progress=False)
    with pytest.raises(CorpusError, match="size"):
        render_corpus([fonts], out, _settings(size=64), progress=False)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(CorpusError, match="is a file"):
        render_corpus([fonts], a_file, _settings(), progress=False)
    with pytest.raises(CorpusError, match="no such corpus"):
        Corpus.open(tmp_path / "nowhere")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["version"] = 0
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CorpusError, match="version 0"):
        Corpus.open(out)


def test_dataset_labels_and_batches(fonts, tmp_path):
    out = tmp_path / "corpus"
    render_corpus([fonts], out, _settings(augment_copies=2), progress=False)
    dataset = GlyphDataset(out)
    assert len(dataset) == 3 + 1 and dataset.num_faces == 2  # Two draws only 가 of CHARS
    batch = dataset.get_batch(np.arange(len(dataset)))
    assert batch["image"].shape == (4, 1, 32, 32)
    assert batch["image"].min() >= -1 and batch["image"].max() <= 1
    for i in range(len(dataset)):
        cp = hangul.FIRST + int(batch["syllable"][i])
        assert tuple(batch["jamo"][i].tolist()) == hangul.decompose(cp)
        face = Corpus.open(out).face(dataset.face_names[int(batch["face"][i])])
        expected = face.image(cp).astype(np.float32) / 127.5 - 1
        assert np.allclose(batch["image"][i, 0].numpy(), expected)
    item = dataset[3]
    assert item["image"].shape == (1, 32, 32)
    augmented = GlyphDataset(out, augmented=True)
    assert len(augmented) == 3 * len(dataset)
    only_ga = GlyphDataset(out, charset=[ord("가")], faces=["Two-Regular"])
    assert len(only_ga) == 1 and int(only_ga.get_batch([0])["syllable"][0]) == 0
    with pytest.raises(CorpusError, match="select no glyph"):
        GlyphDataset(out, charset=[ord("똠")])


def test_open_glyphset_accepts_corpus_faces(fonts, tmp_path):
    out = tmp_path / "corpus"
    render_corpus([fonts], out, _settings(), progress=False)
    face = open_glyphset(f"{out}::Two-Regular")
    assert face.text == "가힣"[:1]  # 힣 is outside this corpus's charset
    with pytest.raises(GlyphSetError, match="is a corpus"):
        open_glyphset(out)
    with pytest.raises(CorpusError, match="no face named"):
        open_glyphset(f"{out}::Nope")


def test_glyphset_rejects_truncated_arrays(tmp_path):
    glyphs = GlyphSet(np.full((2, 8, 8), 255, np.uint8), [ord("가"), ord("나")])
    glyphs.save(tmp_path / "g")
    data = (tmp_path / "g" / "images.npy").read_bytes()
    (tmp_path / "g" / "images.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(GlyphSetError, match="images.npy"):
        GlyphSet.load(tmp_path / "g")


def test_preview_sheet(fonts, tmp_path):
    out = tmp_path / "corpus"
    render_corpus([fonts], out, _settings(), progress=False)
    from PIL import Image

    path = preview_sheet(Corpus.open(out).face("One-Regular"), tmp_path / "p.png", scale=1)
    image = Image.open(path)
    assert image.size == (3 * 34 + 2, 34 + 2)
    assert np.asarray(image).min() == 0  # ink is dark on white


def test_shards_merge_into_the_full_corpus(fonts, tmp_path):
    full = tmp_path / "full"
    render_corpus([fonts], full, _settings(), progress=False)
    parts = []
    for i in range(2):
        part = tmp_path / f"part{i}"
        summary = render_corpus([fonts], part, _settings(), shard=(i, 2), progress=False)
        assert len(summary.rendered) == 1 and summary.other_shard == 1
        parts.append(part)
    merged = tmp_path / "merged"
    assert sorted(merge_corpora(parts, merged)) == sorted(Corpus.open(full).face_names)
    for name in Corpus.open(full).face_names:
        assert np.array_equal(
            Corpus.open(full).face(name).images, Corpus.open(merged).face(name).images
        )
    other = tmp_path / "other"
    render_corpus([fonts], other, _settings(size=16), progress=False)
    with pytest.raises(CorpusError, match="size differs"):
        merge_corpora([full, other], tmp_path / "bad")


def test_compare_sheet_has_a_row_per_face(fonts, tmp_path):
    from PIL import Image

    from hangulgan.data.sheets import compare_sheet

    out = tmp_path / "corpus"
    render_corpus([fonts], out, _settings(), progress=False)
    path = compare_sheet(Corpus.open(out), "가나한", tmp_path / "c.png", scale=1, labels=False)
    pixels = np.asarray(Image.open(path))
    assert pixels.shape == (2 * 34 + 2, 3 * 34 + 2)
    # Two draws only 가: its 나 and 한 cells stay white.
    assert (pixels[36:68, 36:] == 255).all() and pixels[36:68, 2:34].min() == 0
    # Labelled: the same grid to the right of a column of face names, one per row.
    labelled = np.asarray(
        Image.open(compare_sheet(Corpus.open(out), "가나한", tmp_path / "l.png", scale=1))
    )
    margin = labelled.shape[1] - pixels.shape[1]
    assert margin > 30 and np.array_equal(labelled[:, margin:], pixels)
    for top in (2, 36):  # each row's band holds its label's ink
        assert labelled[top : top + 32, :margin].min() < 128
    # Chosen faces only, in the order asked.
    one = compare_sheet(Corpus.open(out), "가", tmp_path / "o.png", faces=["Two-Regular"], scale=1)
    assert np.asarray(Image.open(one)).shape[0] == 34 + 2
    with pytest.raises(CorpusError, match="no face named 'Three'"):
        compare_sheet(Corpus.open(out), "가", tmp_path / "x.png", faces=["Three"])
    with pytest.raises(CorpusError, match="no Hangul"):
        compare_sheet(Corpus.open(out), "abc", tmp_path / "d.png")


# --------------------------------------------------------------------------- damaged fonts


def _drawn(path, cps, rect=(100, 0, 900, 800), **kw):
    return fontfactory.build_font(path, shapes={cp: [rect] for cp in cps}, unmapped=False, **kw)


def test_a_few_failing_glyphs_are_listed_more_make_the_face_damaged(tmp_path):
    import fontdamage

    cps = hangul.all_syllables()[:300]
    few = fontdamage.break_glyphs(_drawn(tmp_path / "few.ttf", cps, family="Few"), cps[100:103])
    many = fontdamage.break_glyphs(
        _drawn(tmp_path / "many.ttf", cps, (0, 0, 500, 500), family="Many"), cps[100:104]
    )
    out = tmp_path / "corpus"
    settings = RenderSettings(charset_name="test", charset=cps)
    summary = render_corpus([few, many], out, settings, progress=False)
    # 3 of 300 (1%) may fail: kept, the failures listed; 4 of 300 may not.
    record = Corpus.open(out).face_record("Few-Regular")
    assert record["failed"] == [f"U+{cp:04X}" for cp in cps[100:103]]
    assert record["glyphs"] == 297 and len(Corpus.open(out).face("Few-Regular")) == 297
    assert Corpus.open(out).face_names == ["Few-Regular"]
    (skip,) = summary.skipped
    assert skip.path.name == "many.ttf"
    assert "damaged: 4 of 300 mapped glyphs fail to load (invalid outline" in skip.reason


def test_mostly_empty_faces_pass_only_as_the_ksx1001_design(tmp_path):
    ksx = set(hangul.ksx1001_syllables())
    cps = hangul.all_syllables()[:200]  # 가..: some in KS X 1001, most not
    inside = [cp for cp in cps if cp in ksx]
    outside = [cp for cp in cps if cp not in ksx]
    assert len(outside) > len(cps) / 2 and len(inside) > 20
    # Baekmuk Dotum's design: maps every syllable, draws those of KS X 1001.
    design = _drawn(tmp_path / "design.ttf", inside, family="Design", blank=outside)
    # As many drawn, but not the KS X 1001 ones: blanked by damage.
    blanked = _drawn(
        tmp_path / "blanked.ttf",
        outside[: len(inside)],
        family="Blanked",
        blank=inside + outside[len(inside) :],
    )
    nothing = _drawn(tmp_path / "nothing.ttf", [], family="Nothing", blank=cps)
    out = tmp_path / "corpus"
    settings = RenderSettings(charset_name="test", charset=cps)
    summary = render_corpus([design, blanked, nothing], out, settings, progress=False)
    corpus = Corpus.open(out)
    assert corpus.face_names == ["Design-Regular"]
    assert len(corpus.face("Design-Regular")) == len(inside)
    assert len(corpus.face_record("Design-Regular")["empty"]) == len(outside)
    reasons = {s.path.name: s.reason for s in summary.skipped}
    assert "are not the KS X 1001 set" in reasons["blanked.ttf"]
    assert "none of its 200 mapped syllables draws any ink" in reasons["nothing.ttf"]
    for face in corpus.manifest["faces"].values():
        assert face["glyphs"] > 0


def test_parallel_render_keeps_every_finished_face_beside_a_damaged_one(fonts, tmp_path):
    import fontdamage

    cps = [ord(c) for c in "가나한"]
    broken = fontdamage.break_glyphs(
        fontfactory.build_font(fonts / "broken.ttf", family="Bad"), cps
    )
    fontfactory.build_font(
        fonts / "three.ttf", family="Three", shapes={ord("가"): [(0, 0, 90, 90)]}
    )
    out = tmp_path / "corpus"
    summary = render_corpus([fonts], out, _settings(), workers=2, progress=False)
    assert sorted(Corpus.open(out).face_names) == ["One-Regular", "Three-Regular", "Two-Regular"]
    assert [s.path for s in summary.skipped] == [broken.resolve()]
    assert "damaged" in summary.skipped[0].reason
    assert json.loads((out / "manifest.json").read_text())["skipped"][0]["path"] == str(
        broken.resolve()
    )


def test_a_worker_that_dies_costs_only_its_face(fonts, tmp_path, monkeypatch):
    import fontdamage

    fontfactory.build_font(fonts / "crash.ttf", family="Crash", shapes={ord("가"): [(0, 0, 9, 9)]})
    fontfactory.build_font(fonts / "four.ttf", family="Four", shapes={ord("나"): [(0, 0, 90, 9)]})
    # The worker function is looked up by name in the spawned process: a test module's works.
    monkeypatch.setattr(corpus_pool, "_worker_render", fontdamage.render_or_die)
    out = tmp_path / "corpus"
    summary = render_corpus([fonts], out, _settings(), workers=2, progress=False)
    assert sorted(Corpus.open(out).face_names) == ["Four-Regular", "One-Regular", "Two-Regular"]
    (skip,) = summary.skipped
    assert skip.path.name == "crash.ttf" and "render process died" in skip.reason


def test_a_kept_face_that_turns_out_damaged_gives_way_to_its_copy(tmp_path, monkeypatch):
    from hangulgan.errors import FontError

    first = fontfactory.build_font(tmp_path / "a.ttf", family="Same")
    second = fontfactory.build_font(tmp_path / "b.ttf", family="Same")
    second.write_bytes(second.read_bytes() + b"\0" * 4)  # another file, the same drawings
    real = corpus_render.render_one_face

    def damaged_a(info, settings, out_dir, progress=None):
        if info.path.name == "a.ttf":
            raise FontError(f"{info.path}: damaged: none of its 4 mapped syllables draws any ink")
        return real(info, settings, out_dir, progress)

    monkeypatch.setattr(corpus_render, "render_one_face", damaged_a)
    out = tmp_path / "corpus"
    summary = render_corpus([first, second], out, _settings(), progress=False)
    assert Corpus.open(out).face_record("Same-Regular")["file_name"] == "b.ttf"
    assert [s.path.name for s in summary.skipped] == ["a.ttf"] and not summary.duplicates
    assert json.loads((out / "manifest.json").read_text())["duplicates"] == []
    again = render_corpus([first, second], out, _settings(), progress=False)
    assert again.reused == ["Same-Regular"] and not again.rendered  # the stand-in counts


def test_a_full_disk_stops_with_one_line_and_keeps_the_last_whole_manifest(
    fonts, tmp_path, monkeypatch
):
    import errno

    out = tmp_path / "corpus"
    real = corpus_manifest.write_json_atomic
    writes = []

    def full_after_two(path, obj):
        writes.append(path)
        if len(writes) > 2:  # the initial manifest, the first face; then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, obj)

    monkeypatch.setattr(corpus_manifest, "write_json_atomic", full_after_two)
    with pytest.raises(DiskFullError, match="manifest.json: no space left on device$") as err:
        render_corpus([fonts], out, _settings(), progress=False)
    assert "\n" not in str(err.value)
    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest["faces"]) == ["One-Regular"]
    monkeypatch.setattr(corpus_manifest, "write_json_atomic", real)
    resumed = render_corpus([fonts], out, _settings(), progress=False)
    assert resumed.reused == ["One-Regular"] and len(resumed.rendered) == 1


# --------------------------------------------------------------------------- interrupted work


class _Killed(BaseException):
    """Stands for SIGKILL: nothing after the injection point runs (no except clause
    of the code under test catches a BaseException it does not know)."""


def test_an_augmented_corpus_renders_again_and_resumes(fonts, tmp_path):
    out = tmp_path / "corpus"
    render_corpus([fonts], out, _settings(augment_copies=1), progress=False)
    again = render_corpus([fonts], out, _settings(augment_copies=1), progress=False)
    assert sorted(again.reused) == ["One-Regular", "Two-Regular"]


def _leave_temporaries_as_a_killed_writer(out):
    """What writers killed mid-work leave, made by hangulgan's own code in a process that
    then dies: a face folder half written, a manifest half written, a swapped-out face
    folder and a half-copied merge folder."""
    import os
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from hangulgan.io import atomic_dir, atomic_path, temp_path
        out = Path({str(out)!r})
        for kind, target in [("old", "One-Regular"), ("merge", "Two-Regular")]:
            folder = temp_path(out / "faces" / target, kind)
            folder.mkdir()
            (folder / "images.npy").write_bytes(b"half")
        with atomic_path(out / "manifest.json") as tmp:
            tmp.write_text("{{")
            with atomic_dir(out / "faces" / "One-Regular", replace=True) as half:
                (half / "images.npy").write_bytes(b"half")
                os._exit(9)  # killed: no cleanup runs
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 9


def test_stale_temporaries_of_killed_runs_are_cleaned_and_nothing_else(fonts, tmp_path):
    import os

    out = tmp_path / "corpus"
    render_corpus([fonts], out, _settings(), progress=False)
    _leave_temporaries_as_a_killed_writer(out)
    left = {p.name for p in [*out.iterdir(), *(out / "faces").iterdir()]}
    assert len([name for name in left if name.endswith(".hangulgan.tmp")]) == 4
    # A user's entries that look like temporaries, and a live process's temporary.
    users = [
        out / "faces" / ".One-Regular.k2j4h.tmp",
        out / "faces" / ".One-Regular.old-4242",
        out / "faces" / ".Two-Regular.merge-4243",
        out / ".notes.merge-1.tmp",
        out / f".live.new-{os.getppid()}-0123abcd.hangulgan.tmp",
    ]
    for folder in users:
        folder.mkdir()
        (folder / "mine.txt").write_text("keep me")
    (out / ".manifest.json.abc123.tmp").write_text("mine")
    (out / ".notes.tmp").write_text("mine")
    for force in (False, True):
        render_corpus([fonts], out, _settings(), force=force, progress=False)
        assert not [p for p in (out / "faces").iterdir() if p.name.endswith(".hangulgan.tmp")]
        assert sorted(p.name for p in (out / "faces").iterdir() if p.name[0] != ".") == [
            "One-Regular",
            "Two-Regular",
        ]
        for folder in users:
            assert (folder / "mine.txt").read_text() == "keep me"
        assert (out / ".manifest.json.abc123.tmp").read_text() == "mine"
        assert (out / ".notes.tmp").read_text() == "mine"
    merge_corpora([out], tmp_path / "merged")
    merge_corpora([tmp_path / "merged"], out)  # merging into it cleans the same way
    assert all((folder / "mine.txt").is_file() for folder in users)


def test_render_and_merge_never_replace_a_face_folder_they_did_not_make(fonts, tmp_path):
    parts = tmp_path / "part"
    render_corpus([fonts], parts, _settings(), progress=False)
    for out in (tmp_path / "fresh", parts):  # an empty folder, and a corpus that lists it
        user = out / "faces" / "One-Regular"
        if out == parts:  # the corpus made it, then the user replaced it with their own
            import shutil

            shutil.rmtree(user)
            manifest = json.loads((out / "manifest.json").read_text())
            del manifest["faces"]["One-Regular"]
            (out / "manifest.json").write_text(json.dumps(manifest))
        user.mkdir(parents=True)
        (user / "notes.txt").write_text("mine")
        for force in (False, True):
            with pytest.raises(CorpusError, match="One-Regular: exists, and the corpus neither"):
                render_corpus([fonts], out, _settings(), force=force, progress=False)
            assert [p.name for p in user.iterdir()] == ["notes.txt"]
    merged = tmp_path / "merged"
    (merged / "faces" / "Two-Regular").mkdir(parents=True)
    (merged / "faces" / "Two-Regular" / "notes.txt").write_text("mine")
    other = tmp_path / "other"
    render_corpus([fonts], other, _settings(), progress=False)
    with pytest.raises(CorpusError, match="Two-Regular: exists, and the corpus neither"):
        merge_corpora([other], merged)
    assert [p.name for p in (merged / "faces" / "Two-Regular").iterdir()] == ["notes.txt"]
    assert not (merged / "manifest.json").exists()  # refused before anything was written


def test_force_replaces_only_a_corpus_manifest(fonts, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "manifest.json").write_text('{"my": "notes"}')
    with pytest.raises(CorpusError, match="manifest.json: not a hangulgan corpus manifest"):
        render_corpus([fonts], out, _settings(), force=True, progress=False)
    assert (out / "manifest.json").read_text() == '{"my": "notes"}'


def test_a_face_folder_a_killed_render_wrote_is_replaced_when_it_resumes(
    fonts, tmp_path, monkeypatch
):
    out = tmp_path / "corpus"
    real = corpus_render.write_manifest
    calls = []

    def killed_after_first_face(folder, manifest):
        calls.append(folder)
        if len(calls) == 2:  # the first face's folder is whole, the manifest not written
            raise _Killed
        real(folder, manifest)

    monkeypatch.setattr(corpus_render, "write_manifest", killed_after_first_face)
    with pytest.raises(_Killed):
        render_corpus([fonts], out, _settings(), progress=False)
    assert json.loads((out / "manifest.json").read_text())["faces"] == {}
    assert len(list((out / "faces").iterdir())) == 1
    monkeypatch.setattr(corpus_render, "write_manifest", real)
    resumed = render_corpus([fonts], out, _settings(), progress=False)
    assert len(resumed.rendered) == 2
    assert sorted(Corpus.open(out).face_names) == ["One-Regular", "Two-Regular"]


def test_a_second_writer_is_refused_naming_the_first(fonts, tmp_path):
    import os

    from hangulgan.errors import LockedError
    from hangulgan.io import folder_lock

    out = tmp_path / "corpus"
    with folder_lock(out, what="corpus"):
        with pytest.raises(LockedError, match=f"process {os.getpid()} is writing this corpus"):
            render_corpus([fonts], out, _settings(), progress=False)
    render_corpus([fonts], out, _settings(), progress=False)


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead
    except FileNotFoundError:
        return False


def _children(parent):
    import os

    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    if int(handle.read().rsplit(")", 1)[1].split()[1]) == parent:
                        pids.append(int(entry))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return pids


@pytest.mark.skipif(not __import__("os").path.isdir("/proc"), reason="reads /proc")
def test_render_workers_die_with_their_parent(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import textwrap
    import time

    parent = textwrap.dedent(
        """
        import os, time
        import multiprocessing
        from concurrent.futures import wait
        from hangulgan.data import corpus_pool

        pool = corpus_pool.render_pool(2, multiprocessing.get_context("spawn").Queue())
        futures = [pool.submit(time.sleep, 0.5) for _ in range(2)]
        wait(futures)
        pids = {pool.submit(os.getpid).result() for _ in range(4)}
        print(" ".join(map(str, pids)), flush=True)
        time.sleep(120)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, env=env)
    try:
        workers = [int(pid) for pid in child.stdout.readline().split()]
        assert workers and all(_alive(pid) for pid in workers)
        workers += [pid for pid in _children(child.pid) if pid not in workers]  # and any other
    finally:
        child.send_signal(signal.SIGKILL)  # no cleanup code of the parent runs
        child.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = [pid for pid in workers if _alive(pid)]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert not survivors, "render workers outlived their killed parent"


@pytest.fixture
def shards(fonts, tmp_path):
    """Two shard corpora of three faces (2 + 1), and the full corpus to compare with."""
    fontfactory.build_font(
        fonts / "three.ttf", family="Three", shapes={ord("가"): [(0, 0, 90, 90)]}
    )
    templates = []
    for i in range(2):
        part = tmp_path / f"template{i}"
        render_corpus([fonts], part, _settings(), shard=(i, 2), progress=False)
        templates.append(part)
    full = tmp_path / "full"
    render_corpus([fonts], full, _settings(), progress=False)
    return templates, full


def _fresh(templates, folder):
    import shutil

    folder.mkdir()
    parts = []
    for template in templates:
        shutil.copytree(template, folder / template.name)
        parts.append(folder / template.name)
    return parts


def _assert_merged(out, full, parts, move):
    merged = Corpus.open(out)
    assert sorted(merged.face_names) == sorted(Corpus.open(full).face_names)
    for name in merged.face_names:
        assert np.array_equal(merged.face(name).images, Corpus.open(full).face(name).images)
    assert sorted(p.name for p in (out / "faces").iterdir()) == sorted(merged.face_names)
    if move:  # the faces left their sources, which no longer list them
        for part in parts:
            assert Corpus.open(part).face_names == []
            assert list((part / "faces").iterdir()) == []


@pytest.mark.parametrize("move", [False, True])
def test_merge_finishes_after_a_kill_at_any_point(shards, tmp_path, monkeypatch, move):
    templates, full = shards
    real_write = corpus_merge.write_manifest
    clean = tmp_path / "clean"
    writes = []

    def counting(folder, manifest):
        writes.append(folder)
        real_write(folder, manifest)

    monkeypatch.setattr(corpus_merge, "write_manifest", counting)
    merge_corpora(_fresh(templates, clean), clean / "out", move=move)
    # Each face: renamed into place, then the merged manifest (and the source's, with
    # move) written; a kill before each write covers every gap between the steps.
    assert len(writes) == (7 if move else 4)
    for kill_at in range(1, len(writes) + 1):
        calls = []

        def killed(folder, manifest, kill_at=kill_at, calls=calls):
            calls.append(folder)
            if len(calls) == kill_at:
                raise _Killed
            real_write(folder, manifest)

        root = tmp_path / f"kill{kill_at}"
        parts = _fresh(templates, root)
        monkeypatch.setattr(corpus_merge, "write_manifest", killed)
        with pytest.raises(_Killed):
            merge_corpora(parts, root / "out", move=move)
        monkeypatch.setattr(corpus_merge, "write_manifest", real_write)
        merge_corpora(parts, root / "out", move=move)
        _assert_merged(root / "out", full, parts, move)


def test_merge_killed_mid_copy_cleans_up_and_finishes(shards, tmp_path, monkeypatch):
    import shutil

    templates, full = shards
    parts = _fresh(templates, tmp_path / "run")
    out = tmp_path / "run" / "out"
    real_copy = shutil.copytree

    def killed_copy(source, target, *args, **kw):
        real_copy(source, target, *args, **kw)
        (Path(target) / "images.npy").write_bytes(b"half")
        raise _Killed

    monkeypatch.setattr(shutil, "copytree", killed_copy)
    with pytest.raises(_Killed):
        merge_corpora(parts, out)
    assert any(".merge-" in p.name for p in (out / "faces").iterdir())
    monkeypatch.setattr(shutil, "copytree", real_copy)
    merge_corpora(parts, out)
    _assert_merged(out, full, parts, move=False)


def test_merge_on_a_full_disk_is_one_line_and_keeps_the_merged_state(shards, tmp_path, monkeypatch):
    import errno
    import shutil

    templates, full = shards
    parts = _fresh(templates, tmp_path / "run")
    out = tmp_path / "run" / "out"
    merge_corpora(parts[:1], out)
    before = (out / "manifest.json").read_text()

    def full_disk(source, target, *args, **kw):
        Path(target).mkdir()
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "copytree", full_disk)
    with pytest.raises(DiskFullError, match=r"faces/\w+-Regular: no space left on device$"):
        merge_corpora(parts, out)
    assert (out / "manifest.json").read_text() == before
    assert sorted(p.name for p in (out / "faces").iterdir()) == sorted(json.loads(before)["faces"])


def test_merge_refuses_its_own_output_as_a_part(shards, tmp_path):
    templates, _ = shards
    with pytest.raises(CorpusError, match="is the output of the merge too"):
        merge_corpora(templates, templates[0])
