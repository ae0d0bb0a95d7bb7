"""Do generated styles help a line recognizer? The proof of issue 23 at line level: the same
CRNN (`hangulgan train crnn`), the same steps, trained on four exports of real Korean lines
and tested on lines set in faces that neither it nor the styled model ever saw.

    python benchmarks/ocr_proof.py --corpus corpus/ --out /tmp/ocr-proof [--steps 3000]
        [--seeds 2] [--quick]

The four arms (`hangulgan ocr-export ... --kind lines`, the same text sampler and seed):

a. **real**: lines set in four real faces (:data:`FEW`);
b. **real + augmentation**: the same with `--augment`;
c. **real + styles**: the four faces and `--styles random:N`, N styles the shipped styled
   model draws for the run (blends of the faces it saw), built into fonts and set like them;
d. **real + styles + augmentation**.

Every arm's export holds the same number of lines; every run has the same steps, batch,
model and alphabet (the space and every character of the four exports, so that the
output layers match). The test lines are real text (built-in lines, other seeds) set in
each face held out of the shipped styled weights' training
(``StyledGenerator.load().data.holdout_face_list``: UnDotum, UnBatang, UnPilgi, Gaegu,
Black Han Sans, Gugi...) from the font file the corpus rendered it from, one export per
face; `ocr-eval` reads them (greedy CTC). Characters and digits a face lacks come from
``--fallback-font``, as in training.

Each arm is trained with ``--seeds`` seeds (default 2); the report gives each arm's mean
character error rate (CER) over the seeds, its spread (largest minus smallest), word
accuracy and the worst face. Targets: (c) beats (a) and (d) beats (b) on CER, each by more
than the seed spread of the two arms compared. Exits 1 on a miss, whichever way it comes
out the figures are printed.

Everything under ``--out`` is kept: exports, runs (an interrupted run resumes from its
checkpoint) and each run's scores, so a second call only does what is missing.

``--quick`` runs the whole chain on tiny settings (a few hundred lines, a tiny model, one
style, 20 test lines per face, ``--steps`` 30 unless given) to show it works in a few
minutes; its figures are not a result, so its targets are reported but never fail.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from report import Report

# the real faces every arm trains on (as benchmarks/ocr_augment.py): a gothic, a serif, a
# pen face and a rounder gothic, all seen by the styled model
FEW = ("NanumGothic", "NanumMyeongjo", "NanumPen", "NanumBarunGothic")
FALLBACK = "/usr/share/fonts/truetype/nanum/NanumGothic.ttf"
HANGULGAN = [sys.executable, "-m", "hangulgan"]
TEST_SEED = 1000  # the test exports' seeds: TEST_SEED + face number (training uses --seed)
QUICK_MODEL = ("--channels", "8", "--hidden", "32", "--sequence", "conv", "--lr", "3e-3")


@dataclass(frozen=True)
class Arm:
    """One training set of the comparison."""

    key: str
    label: str
    augment: bool
    styles: bool


ARMS = (
    Arm("a", "(a) real", False, False),
    Arm("b", "(b) real + augmentation", True, False),
    Arm("c", "(c) real + styles", False, True),
    Arm("d", "(d) real + styles + augmentation", True, True),
)


def hangulgan(*args: object, ok: tuple[int, ...] = (0,)) -> str:
    """Run one command; its output is kept out of the report unless it fails."""
    done = subprocess.run([*HANGULGAN, *map(str, args)], capture_output=True, text=True)
    if done.returncode not in ok:
        shown = " ".join(map(str, args))
        sys.exit(f"hangulgan {shown} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def face_source(corpus, name: str) -> str:
    """What ocr-export sets face ``name`` from: the font file (or web-font folder) the
    corpus rendered it from when it is still there, else the corpus face itself."""
    record = corpus.face_record(name)
    path = Path(str(record.get("file", "")))
    single = path.is_dir() or (path.is_file() and path.suffix.lower() != ".ttc")
    if single and int(record.get("face_index", 0)) == 0:
        return str(path)
    return f"{corpus.folder}::{name}"


def export(out: Path, sources: list[str], *args: object) -> Path:
    """An export of lines into ``out`` (kept when an earlier call finished it)."""
    manifest = out / "manifest.json"
    if manifest.is_file() and json.loads(manifest.read_text(encoding="utf-8")).get("complete"):
        return out
    hangulgan(
        "ocr-export", *sources, "--kind", "lines", "--format", "lmdb", "--fallback-font",
        FALLBACK, "--out", out, "--quiet", "--force", *args,
        ok=(0, 1),  # 1: a few samples were too wide or skipped, and counted
    )  # fmt: skip
    return out


def train(run: Path, data: Path, alphabet: str, seed: int, args: argparse.Namespace) -> float:
    """Train (or finish) one run; the seconds this call spent."""
    start = time.perf_counter()
    if (run / "config.json").is_file() and any((run / "checkpoints").glob("step-*")):
        hangulgan("train", "crnn", "--run", run, "--resume", "--steps", args.steps, "--no-progress")
        return time.perf_counter() - start
    model = QUICK_MODEL if args.quick else ()
    hangulgan(
        "train", "crnn", "--data", data, "--run", run, "--steps", args.steps, "--batch",
        args.batch, "--seed", seed, "--alphabet", alphabet, "--lr-decay-steps", args.steps,
        "--threads", args.threads, "--sample-every", "0", "--checkpoint-every", "500",
        "--no-progress", "--force", *model,
    )  # fmt: skip
    return time.perf_counter() - start


def score_run(run: Path, tests: dict[str, Path]) -> dict:
    """The run's scores on every test face, and over all of them (kept beside the run)."""
    from hangulgan.ocr.recognize import evaluate
    from hangulgan.ocr.scoring import Scores

    saved = run.with_name(run.name + "-scores.json")
    if saved.is_file():
        return json.loads(saved.read_text(encoding="utf-8"))
    total = Scores()
    faces = {}
    for face, folder in tests.items():
        scores = evaluate(run, folder).scores
        faces[face] = {"cer": scores.cer, "word_accuracy": scores.word_accuracy}
        for name in ("samples", "characters", "character_errors", "words", "words_right"):
            setattr(total, name, getattr(total, name) + getattr(scores, name))
        total.lines_right += scores.lines_right
    record = {"all": total.to_dict(), "faces": faces}
    saved.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    return record


def alphabet_of(exports: list[Path]) -> str:
    """The space and every character of the exports' charset.txt files, sorted."""
    chars: set[str] = set()
    for folder in exports:
        chars.update(c for c in (folder / "charset.txt").read_text(encoding="utf-8").splitlines())
    chars.discard(" ")
    chars.discard("")
    return " " + "".join(sorted(chars))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="corpus", help="corpus from `hangulgan render fonts/`")
    parser.add_argument("--out", default="/tmp/ocr-proof", help="exports, runs (resumable)")
    parser.add_argument("--steps", type=int, default=None, help="steps of every run (3000)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seeds", type=int, default=2, help="seeds of every arm (means)")
    parser.add_argument("--count", type=int, default=None, help="lines per arm (20000)")
    parser.add_argument("--test-count", type=int, default=None, help="lines per face (200)")
    parser.add_argument("--styles", type=int, default=None, help="styles drawn (12)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="tiny settings: shows it works")
    args = parser.parse_args()
    quick = args.quick
    args.steps = args.steps or (30 if quick else 3000)
    args.count = args.count or (300 if quick else 20000)
    args.test_count = args.test_count or (20 if quick else 200)
    args.styles = args.styles or (1 if quick else 12)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = Report("ocr_proof")

    from hangulgan.data.corpus import Corpus
    from hangulgan.models.styled_inference import StyledGenerator

    corpus = Corpus.open(args.corpus)
    held = StyledGenerator.load().data.holdout_face_list
    test_faces = [name for name in held if name in corpus.face_names]
    absent = [name for name in held if name not in corpus.face_names]
    missing = [name for name in FEW if name not in corpus.face_names]
    if missing or not test_faces:
        sys.exit(f"{args.corpus}: lacks {', '.join(missing) or 'every held-out face'}")
    real = [face_source(corpus, name) for name in FEW]

    start = time.perf_counter()
    common = ("--count", args.count, "--seed", "0")
    exports: dict[str, Path] = {}
    for arm in ARMS:
        extra = [*common, *(["--augment"] if arm.augment else [])]
        if arm.styles:
            extra += ["--styles", f"random:{args.styles}"]
        exports[arm.key] = export(out / "exports" / arm.key, real, *extra)
    tests = {
        face: export(
            out / "exports" / "test" / face,
            [face_source(corpus, face)],
            "--count",
            args.test_count,
            "--seed",
            TEST_SEED + number,
        )  # fmt: skip
        for number, face in enumerate(test_faces)
    }
    export_seconds = time.perf_counter() - start
    alphabet = alphabet_of(list(exports.values()))

    results: dict[str, list[dict]] = {}
    seconds: list[float] = []
    for arm in ARMS:
        results[arm.key] = []
        for seed in range(1, args.seeds + 1):
            run = out / "runs" / f"{arm.key}-s{seed}"
            seconds.append(train(run, exports[arm.key], alphabet, seed, args))
            results[arm.key].append(score_run(run, tests))
            print(
                f"{arm.label}, seed {seed}: CER {results[arm.key][-1]['all']['cer']:.4f}",
                flush=True,
            )

    cer = {k: [r["all"]["cer"] for r in runs] for k, runs in results.items()}
    mean = {k: float(np.mean(v)) for k, v in cer.items()}
    spread = {k: float(np.max(v) - np.min(v)) for k, v in cer.items()}
    for arm in ARMS:
        runs = results[arm.key]
        words = float(np.mean([r["all"]["word_accuracy"] for r in runs]))
        per_face = {f: float(np.mean([r["faces"][f]["cer"] for r in runs])) for f in test_faces}
        worst = max(per_face, key=per_face.get)
        report.add(
            f"{arm.label}: CER on held-out faces",
            f"{mean[arm.key]:.4f} (spread {spread[arm.key]:.4f}: "
            f"{', '.join(f'{c:.4f}' for c in cer[arm.key])}); word accuracy {words:.3f}; "
            f"worst {worst} {per_face[worst]:.3f}",
        )
    for better, base in (("c", "a"), ("d", "b")):
        gain = mean[base] - mean[better]
        margin = max(spread[base], spread[better])
        report.add(
            f"({better}) over ({base}): CER lower by",
            f"{gain:+.4f}",
            f"> seed spread {margin:.4f}",
            None if quick else gain > margin,
        )
    lines = sum(
        json.loads((exports[a.key] / "manifest.json").read_text())["counts"]["all"] for a in ARMS
    )
    report.add(
        "setting",
        f"{'QUICK (not a result): ' if quick else ''}{len(FEW)} real faces, {args.styles} "
        f"generated style{'s' if args.styles != 1 else ''}, {lines // len(ARMS):,} lines an "
        f"arm, {args.steps} steps × {args.batch}, {args.seeds} seed(s), {len(alphabet)} "
        f"characters; tested on {len(test_faces)} held-out faces × {args.test_count} lines"
        + (f" (not in the corpus: {', '.join(absent)})" if absent else "")
        + f"; exports {export_seconds:.0f} s, {np.mean(seconds):.0f} s a run, "
        f"{args.threads} threads",
    )
    sys.exit(report.finish())


if __name__ == "__main__":
    main()
