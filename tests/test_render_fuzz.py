"""Fuzz: hundreds of damaged fonts, rendered in batches beside a sound one, never stop a run.

The damaged fonts are made at test time (tests/fontdamage.py) from small sound ones:
fontfactory's TrueType and CFF fonts and a two-face collection, and subsets of the
Debian NanumGothic, UnDotum and Noto Sans CJK KR (CFF) where installed. Each batch
runs the real command line in a child process, once with one worker and once with
two, and must end without a traceback, a crash or a hang, keep the sound face,
account for every file, store no face without glyphs, and stay within a bounded
peak memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fontdamage
import fontfactory
from conftest import NANUM, NOTO

# Syllables of the subsets: the signature samples, then common ones.
TEXT = (
    "가나다라마바사아자차카타파하한글꽃봄값읽흙뷁쀍똠빵"
    "각간갇갈감갑갓강개객거건걷걸검겁것게겨격견결겸경계고곡곤곧골곰곱곳공과곽관괄광"
)
BATCHES = 6
PEAK_RSS_LIMIT_MB = 400  # one process: Python, numpy, FreeType, fontTools (measured: ~130)
RUN_TIMEOUT_S = 180


def _subset(source: Path, out: Path, font_number: int = 0) -> Path:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(str(source), fontNumber=font_number)
    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=TEXT)
    subsetter.subset(font)
    font.save(str(out))
    return out


@pytest.fixture(scope="module")
def fuzz_fonts(tmp_path_factory):
    """(good font, damaged font paths, charset file)."""
    root = tmp_path_factory.mktemp("fuzz")
    sound = root / "sound"
    sound.mkdir()
    sources = [
        fontfactory.build_font(sound / "factory.ttf", family="Factory TT"),
        fontfactory.build_font(sound / "factory.otf", family="Factory CFF", cff=True),
    ]
    # A collection of two faces: damage to one must not cost the other.
    second = fontfactory.build_font(
        root / "second.ttf", family="Factory Two", shapes={ord("가"): [(0, 0, 600, 600)]}
    )
    sources.append(fontfactory.build_collection(sound / "factory.ttc", [sources[0], second]))
    debian = [
        (NANUM / "NanumGothic.ttf", 0, "nanum.ttf"),
        (Path("/usr/share/fonts/truetype/unfonts-core/UnDotum.ttf"), 0, "undotum.ttf"),
        (NOTO / "NotoSansCJK-Regular.ttc", 1, "noto-kr.otf"),  # face 1: the KR one, CFF
    ]
    for path, number, name in debian:
        if path.exists():
            sources.append(_subset(path, sound / name, number))
    damaged_dir = root / "damaged"
    damaged_dir.mkdir()
    damaged = []
    for seed, source in enumerate(sources):
        damaged += fontdamage.write_damaged(source, damaged_dir, source.stem, seed=seed)
    charset = root / "charset.txt"
    charset.write_text(TEXT, encoding="utf-8")
    good = sources[3] if len(sources) > 3 else sources[0]
    return good, damaged, charset


# Runs the command and records its exit status and the peak RSS of it and its workers.
# A wrapper of its own, because a child's ru_maxrss counts the memory of the process it
# was forked from until it calls exec: forked from pytest, that is pytest's.
_MEASURE = """
import json, resource, subprocess, sys
status = subprocess.call(sys.argv[2:])
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
with open(sys.argv[1], "w") as handle:
    json.dump({"status": status, "peak_kb": peak_kb}, handle)
"""


def _run_render(fonts_dir: Path, out: Path, charset: Path, workers: int):
    """Run ``hangulgan render`` in a child; (exit status, output, peak RSS in MB of the
    child and its workers). A negative status is the signal that killed it."""
    import signal

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "hangulgan", "render", str(fonts_dir), str(out)]
    command += ["--charset", str(charset), "--workers", str(workers), "--quiet"]
    log, report = out.with_suffix(".log"), out.with_suffix(".json")
    with open(log, "w") as handle:
        wrapper = subprocess.Popen(
            [sys.executable, "-c", _MEASURE, str(report), *command],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # a hang is killed with its workers
        )
        try:
            wrapper.wait(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(wrapper.pid, signal.SIGKILL)
            wrapper.wait()
            pytest.fail(f"render of {fonts_dir} hung for {RUN_TIMEOUT_S} s")
    result = json.loads(report.read_text())
    return result["status"], log.read_text(errors="replace"), result["peak_kb"] / 1024


@pytest.mark.parametrize("workers", [1, 2])
def test_damaged_fonts_never_stop_a_batch(fuzz_fonts, tmp_path, workers):
    from hangulgan import hangul
    from hangulgan.data.fonts import collect_faces

    good, damaged, charset = fuzz_fonts
    assert len(damaged) >= (300 if len(damaged) > 200 else 100)
    (good_info,), _ = collect_faces([good], hangul.resolve_charset(str(charset)))
    for batch_number in range(BATCHES):
        batch = tmp_path / f"batch{batch_number}"
        batch.mkdir()
        members = damaged[batch_number::BATCHES]
        for path in members:
            os.link(path, batch / path.name)  # a link, not a symlink: discovery resolves those
        os.link(good, batch / f"zz-good{good.suffix}")  # sorts last: no first-path luck
        out = tmp_path / f"corpus{batch_number}"
        status, output, peak_mb = _run_render(batch, out, charset, workers)

        context = f"batch {batch_number} ({workers} workers):\n{output[-3000:]}"
        assert status in (0, 1), context  # 1: some fonts skipped; negative: a crash
        assert "Traceback" not in output, context
        # At most a line per file and per face, plus the table's frame: no library noise.
        assert len(output.splitlines()) <= 2 * (len(members) + 1) + 10, context
        assert peak_mb < PEAK_RSS_LIMIT_MB, f"peak RSS {peak_mb:.0f} MB; {context}"

        manifest = json.loads((out / "manifest.json").read_text())
        kept = {Path(rec["file"]).name: name for name, rec in manifest["faces"].items()}
        listed = {
            Path(item["path"].split("#")[0]).name
            for item in manifest["skipped"] + manifest["duplicates"]
        }
        names = {p.name for p in batch.iterdir()}
        assert names <= set(kept) | listed, f"unaccounted: {names - set(kept) - listed}"
        for name, record in manifest["faces"].items():
            images = np.load(out / "faces" / name / "images.npy", mmap_mode="r")
            assert record["glyphs"] == len(images) > 0, f"{name} stored without glyphs"
        # The sound face is stored: as itself, or as a duplicate of a kept copy of the
        # same drawings (a copy damaged only where rendering never looks).
        good_name = f"zz-good{good.suffix}"
        keeper = next(
            (n for n, r in manifest["faces"].items() if r["signature"] == good_info.signature),
            None,
        )
        assert keeper is not None, f"sound face lost; {context}"
        assert good_name in kept or any(
            Path(d["path"]).name == good_name for d in manifest["duplicates"]
        ), context
