"""A face split over unicode-range subset files (web fonts) renders as one face."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fontTools import subset

from hangulgan import hangul
from hangulgan.data.corpus import Corpus
from hangulgan.data.corpus_manifest import RenderSettings
from hangulgan.data.corpus_render import render_corpus
from hangulgan.data.fonts import collect_faces
from hangulgan.data.render import render_face
from hangulgan.data.webfonts import SplitFaceInfo, SplitFaceRenderer, open_renderer

import fontfactory
from conftest import NANUM, debian_font

# Twelve syllables, each a different rectangle, so a glyph drawn from the wrong file or
# put in the wrong place shows in the pixels. They are among the syllables whose outlines
# sign a face (face.SIGNATURE_TEXT), so every subset file takes part in the signature.
SYLLABLES = [ord(c) for c in "가나마바사아자차카타파하"]
SHAPES = {
    cp: [(100 + 30 * i, 20 * i, 900 - 20 * i, 800 - 25 * i), (420, 300, 480 + 10 * i, 360)]
    for i, cp in enumerate(SYLLABLES)
}


def write_subsets(font: Path, slices: list[list[int]], folder: Path, stem: str) -> list[Path]:
    """Cut ``font`` into one WOFF file per slice of code points, as web-font packages do."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, codepoints in enumerate(slices):
        options = subset.Options()
        options.flavor = "woff"
        options.name_IDs = ["*"]
        options.notdef_outline = True
        loaded = subset.load_font(str(font), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=codepoints)
        subsetter.subset(loaded)
        path = folder / f"{stem}-{number}-400-normal.woff"
        subset.save_font(loaded, str(path), options)
        paths.append(path)
    return paths


@pytest.fixture
def whole_font(tmp_path: Path) -> Path:
    (tmp_path / "whole").mkdir()
    return fontfactory.build_font(
        tmp_path / "whole" / "Split.ttf", SHAPES, family="Split Test", unmapped=False
    )


@pytest.fixture
def split_folder(tmp_path: Path, whole_font: Path) -> Path:
    # Uneven slices, the empty-mapped glyph in the middle one, and a Latin-only subset
    # (no Hangul) that must not break the face.
    slices = [SYLLABLES[:5], SYLLABLES[5:7] + [fontfactory.EMPTY_MAPPED], SYLLABLES[7:]]
    folder = tmp_path / "web" / "split-test" / "400"
    write_subsets(whole_font, slices + [[ord("A")]], folder, "split-test")
    return folder


def test_subset_files_are_one_face_with_the_union_coverage(split_folder, whole_font):
    faces, skipped = collect_faces([split_folder.parent])
    whole, _ = collect_faces([whole_font])
    assert len(faces) == 1
    face = faces[0]
    assert isinstance(face, SplitFaceInfo)
    assert len(face.parts) == 3  # the Latin-only file has no syllable to draw
    # ... but it is a part of this face, not a font passed over (render reported it as a
    # skip and exited 1 for every web font, and for each subset a narrow --charset missed)
    assert skipped == []
    assert face.path == split_folder.resolve()
    assert (face.family, face.style) == ("Split Test", "Regular")
    assert face.postscript_name == whole[0].postscript_name
    np.testing.assert_array_equal(face.covered, whole[0].covered)
    assert face.face_id == whole[0].face_id


def test_split_face_renders_like_the_whole_font(split_folder, whole_font):
    face = collect_faces([split_folder])[0][0]
    # Shuffled, with a syllable no file maps: the order given is the order returned.
    asked = [SYLLABLES[9], fontfactory.EMPTY_MAPPED, SYLLABLES[0], 0xD7A3, *SYLLABLES[1:9]]
    asked += SYLLABLES[10:]
    for placement in ("em", "fit"):
        split = open_renderer(face, 32, placement).render(asked)
        direct = render_face(str(whole_font), asked, size=32, placement=placement)
        np.testing.assert_array_equal(split.codepoints, direct.codepoints)
        np.testing.assert_array_equal(split.images, direct.images)
        assert split.images.max() == 255
        assert split.missing.tolist() == [0xD7A3] == direct.missing.tolist()
        assert split.empty.tolist() == [fontfactory.EMPTY_MAPPED] == direct.empty.tolist()


def test_split_face_with_no_mapped_syllable_renders_nothing(split_folder):
    face = collect_faces([split_folder])[0][0]
    result = SplitFaceRenderer(face).render([0xD7A3, 0xD7A2])
    assert result.images.shape == (0, 32, 32)
    assert result.missing.tolist() == [0xD7A3, 0xD7A2]


def test_split_face_signs_like_the_whole_font(split_folder, whole_font):
    # Same drawings, so de-duplication keeps one of the two.
    faces, skipped = collect_faces([whole_font, split_folder])
    assert len(faces) == 1
    assert [s.duplicate for s in skipped if "same Hangul drawings" in s.reason] == [True]


def test_whole_fonts_with_the_same_names_in_one_folder_stay_separate(tmp_path):
    # Two versions of one font (same names, different drawings, both whole) are not subsets.
    folder = tmp_path / "versions"
    folder.mkdir()
    shapes_v2 = {cp: [(150, 50, 850, 750)] for cp in SYLLABLES}
    fontfactory.build_font(folder / "v1.ttf", SHAPES, family="Split Test", unmapped=False)
    fontfactory.build_font(folder / "v2.ttf", shapes_v2, family="Split Test", unmapped=False)
    faces, _ = collect_faces([folder])
    assert len(faces) == 2
    assert not any(isinstance(face, SplitFaceInfo) for face in faces)


def test_subsets_in_different_folders_stay_separate(tmp_path, whole_font):
    # Weights of one family live in their own folders; only a folder's files join.
    write_subsets(whole_font, [SYLLABLES[:6]], tmp_path / "w" / "a", "a")
    write_subsets(whole_font, [SYLLABLES[6:]], tmp_path / "w" / "b", "b")
    faces, _ = collect_faces([tmp_path / "w"])
    assert sorted(len(face.covered) for face in faces) == [6, 6]


def test_render_corpus_stores_a_split_face_whole(tmp_path, split_folder, whole_font):
    settings = RenderSettings(charset=SYLLABLES + [fontfactory.EMPTY_MAPPED])
    render_corpus([split_folder], tmp_path / "corpus", settings, progress=False)
    corpus = Corpus.open(tmp_path / "corpus")
    (name,) = corpus.face_names
    record = corpus.face_record(name)
    assert record["glyphs"] == len(SYLLABLES)
    assert record["empty"] == [f"U+{fontfactory.EMPTY_MAPPED:04X}"]
    assert record["file"] == str(split_folder.resolve())
    stored = corpus.face(name)
    direct = render_face(str(whole_font), SYLLABLES)
    np.testing.assert_array_equal(stored.images, direct.images)
    # A second render finds the face done (same parts, same hash) and renders nothing.
    again = render_corpus([split_folder], tmp_path / "corpus", settings, progress=False)
    assert again.reused == [name] and not again.rendered


def test_a_real_font_cut_into_woff_subsets_renders_as_itself(tmp_path):
    """NanumGothic's KS X 1001 syllables in four interleaved WOFF slices, as Google Fonts
    slices by frequency rather than by code point order."""
    source = debian_font(NANUM / "NanumGothic.ttf")
    ksx = hangul.ksx1001_syllables()
    slices = [ksx[k::4] for k in range(4)]
    folder = write_subsets(source, slices, tmp_path / "nanum-web", "nanum")[0].parent
    (face,), _ = collect_faces([folder])
    assert len(face.parts) == 4 and len(face.covered) == len(ksx)
    split = open_renderer(face).render(ksx)
    direct = render_face(str(source), ksx)
    np.testing.assert_array_equal(split.codepoints, direct.codepoints)
    np.testing.assert_array_equal(split.images, direct.images)


# --------------------------------------------------------------------------- join script

JOIN = Path(__file__).resolve().parents[1] / "scripts" / "join_web_subsets.py"


def _join(folder: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(JOIN), str(folder), str(out)], capture_output=True, text=True
    )


def test_joined_subsets_draw_like_the_whole_font(tmp_path):
    """Interleaved WOFF slices of NanumGothic joined into one TTF: every syllable mapped,
    and each renders pixel for pixel as in the original file."""
    source = debian_font(NANUM / "NanumGothic.ttf")
    chosen = hangul.ksx1001_syllables()[::10]
    folder = write_subsets(source, [chosen[k::3] for k in range(3)], tmp_path / "web", "n")
    done = _join(folder[0].parent, tmp_path / "joined" / "Nanum.ttf")
    assert done.returncode == 0, done.stderr
    joined = render_face(str(tmp_path / "joined" / "Nanum.ttf"), chosen)
    direct = render_face(str(source), chosen)
    np.testing.assert_array_equal(joined.codepoints, direct.codepoints)
    np.testing.assert_array_equal(joined.images, direct.images)


def test_join_refuses_what_is_not_a_truetype_font(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "x-0-400-normal.woff").write_bytes(b"not a font")
    done = _join(folder, tmp_path / "out.ttf")
    assert done.returncode == 2 and "x-0-400-normal.woff: cannot read it" in done.stderr
    assert not (tmp_path / "out.ttf").exists()
    done = _join(tmp_path / "missing", tmp_path / "out.ttf")
    assert done.returncode == 2 and "holds 0 faces" in done.stderr


# --------------------------------------------------------------------------- fetch script

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "fetch-web-fonts.sh"


def _fake_package(cache: Path, name: str, version: str) -> Path:
    """A tarball laid out like an @fontsource package: numbered unicode-range subsets,
    some touching the Hangul syllables, each weight in WOFF and WOFF2."""
    import io
    import json
    import tarfile

    ranges = {
        "[0]": "U+ac00-ac10,U+ff01",
        "[1]": "U+4e00-4eff",
        "[2]": "U+d7??",
        "[3]": "U+1100-11ff",
        "latin": "U+0000-00ff",
    }
    metadata = {"id": name, "family": "Fake Font", "weights": [400, 700]}
    metadata["license"] = {"type": "OFL-1.1"}
    members = {
        "package/metadata.json": json.dumps(metadata).encode(),
        "package/unicode.json": json.dumps(ranges).encode(),
        "package/LICENSE": b"SIL Open Font License 1.1",
    }
    for weight in (400, 700):
        for key in ranges:
            for suffix in ("woff", "woff2"):
                file = f"package/files/{name}-{key.strip('[]')}-{weight}-normal.{suffix}"
                members[file] = f"{key} {weight} {suffix}".encode()
    cache.mkdir(parents=True, exist_ok=True)
    tarball = cache / f"fontsource-{name}-{version}.tgz"
    with tarfile.open(tarball, "w:gz") as tar:
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return tarball


def _run_script(tmp_path: Path, *args: str):
    import os
    import subprocess

    # An npm that fails: the cached tarball must be used, never the registry.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "npm").write_text("#!/bin/sh\necho npm was called >&2\nexit 3\n")
    (bin_dir / "npm").chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    env["HANGULGAN_NPM_CACHE"] = str(tmp_path / "cache")
    return subprocess.run(
        ["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, check=False
    )


def test_fetch_script_keeps_the_woff_files_of_the_hangul_subsets(tmp_path):
    _fake_package(tmp_path / "cache", "fake-font", "1.0.0")
    dest = tmp_path / "web"
    first = _run_script(tmp_path, str(dest), "fake-font@1.0.0", "400,700")
    assert first.returncode == 0, first.stderr
    package = dest / "fake-font"
    for weight in ("400", "700"):
        kept = sorted(p.name for p in (package / weight).iterdir())
        assert kept == [f"fake-font-0-{weight}-normal.woff", f"fake-font-2-{weight}-normal.woff"]
    assert (package / "LICENSE").read_text() == "SIL Open Font License 1.1"
    assert (package / "metadata.json").is_file()
    assert sorted(p.name for p in package.iterdir()) == [
        ".fetched",
        "400",
        "700",
        "LICENSE",
        "metadata.json",
    ]
    # Idempotent: a second run fetches and rewrites nothing.
    stamp = (package / "400").stat().st_mtime_ns
    second = _run_script(tmp_path, str(dest), "fake-font@1.0.0", "400,700")
    assert second.returncode == 0, second.stderr
    assert "0 packages fetched now" in second.stdout
    assert (package / "400").stat().st_mtime_ns == stamp


def test_fetch_script_rejects_a_weight_the_package_lacks(tmp_path):
    tarball = _fake_package(tmp_path / "cache", "fake-font", "1.0.0")
    dest = tmp_path / "web"
    result = _run_script(tmp_path, str(dest), "fake-font@1.0.0", "300")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {tarball}: no weight 300 (has [400, 700])"
    )
    assert not (dest / "fake-font").exists()


def test_fetch_script_reports_a_package_npm_cannot_fetch(tmp_path):
    result = _run_script(tmp_path, str(tmp_path / "web"), "no-such-font@1.0.0", "400")
    assert result.returncode != 0
    assert "npm pack @fontsource/no-such-font@1.0.0 failed" in result.stderr
