"""Do generated styles help a recognizer? The content classifier trained with and without
glyphs drawn by the styled model, tested on real faces that neither it nor the styled
model ever saw.

    python benchmarks/ocr_augment.py --corpus corpus/ --out /tmp/ocr-augment [--steps 600]

Four runs of `hangulgan train classifier` (the syllable recognizer of `hangulgan evaluate`:
initial, medial and final jamo; right only when all three are), the same number of steps
and batch each, on KS X 1001's 2,350 syllables:

1. **real**: the real glyphs of four faces (:data:`FEW`);
2. **real + augmentation**: the same, 75 % of each batch distorted by the render stage's
   augmentation (plain augmentation alone);
3. **real + styles**: the four faces plus glyph sets the styled model (shipped weights)
   draws with `hangulgan generate`: random blends of the faces it saw (``--style random``),
   fixed blends (``--mix``), and few-shot styles of other faces from 8 of their glyphs
   (``--refs FONT``);
4. **real + styles + augmentation**;

and, for scale, 5. **every face the styled model saw, real, + augmentation**: what the
generator learnt from, had the recognizer all those fonts itself.

Each is tested on all 2,350 syllables of the ten faces held out of the shipped styled
weights' training (:data:`TEST`), which no run trains on. Targets: the styles raise
accuracy over the real glyphs alone, and over plain augmentation (4 > 2); exits 1 on a
miss. With ``--seeds N`` every run is repeated with N seeds and the means are compared
(the spread is shown). On 2 cores about 12 minutes a seed at the default steps.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from report import Report

FEW = ("NanumGothic", "NanumMyeongjo", "NanumPen", "NanumBarunGothic")
TEST = (
    "UnDotum", "UnDotum-Bold", "UnBatang", "UnBatang-Bold", "UnPilgi", "UnPilgi-Bold",
    "Gaegu-Regular", "Gaegu-Bold", "BlackHanSans-Regular", "Gugi-Regular",
)  # fmt: skip
MIXES = (
    "NanumMyeongjo:0.5,NanumPen:0.5",
    "NanumGothicExtraBold:0.5,NanumBrush:0.5",
    "NotoSerifCJKkr-Black:0.6,NanumSquareRoundL:0.4",
    "SingleDay-Regular:0.5,GothicA1-Bold:0.5",
)
# Fonts whose style is taken from 8 glyphs (few-shot): faces the recognizer's real data
# lacks and the test set does not hold.
FEW_SHOT = (
    "/usr/share/fonts/truetype/nanum/NanumBrush.ttf",
    "/usr/share/fonts/truetype/nanum/NanumSquareRoundEB.ttf",
    "/usr/share/fonts/truetype/baekmuk/hline.ttf",
    "/usr/share/fonts/truetype/nanum/NanumMyeongjoExtraBold.ttf",
)
HANGULGAN = str(Path(sys.executable).with_name("hangulgan"))


def hangulgan(*args: str) -> None:
    """Run one command, its output kept out of the report unless it fails."""
    done = subprocess.run([HANGULGAN, *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"hangulgan {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")


def draw_styles(out: Path, random_styles: int) -> list[str]:
    """Glyph sets in generated styles under ``out``; their folders."""
    jobs = [(f"random-{k}", ["--style", "random", "--seed", str(k)]) for k in range(random_styles)]
    jobs += [(f"mix-{k}", ["--mix", mix]) for k, mix in enumerate(MIXES)]
    jobs += [(f"refs-{Path(f).stem}", ["--refs", f]) for f in FEW_SHOT if Path(f).is_file()]
    folders = []
    for name, args in jobs:
        folder = out / name
        if not (folder / "glyphset.json").is_file():
            hangulgan("generate", *args, "--charset", "ksx1001", "--out", str(folder), "--force")
        folders.append(str(folder))
    return folders


def train_and_test(
    corpus: str,
    run: Path,
    faces: Sequence[str],
    steps: int,
    threads: int,
    augment: bool,
    glyph_sets: list[str],
    seed: int,
) -> tuple[dict, float]:
    """Train one classifier and measure it on :data:`TEST`: its held-out record, seconds."""
    result = run.with_suffix(".json")
    if not result.is_file():
        start = time.perf_counter()
        args = [
            "train", "classifier", "--run", str(run), "--corpus", corpus,
            "--faces", ",".join(faces), "--holdout-faces", ",".join(TEST),
            "--charset", "ksx1001", "--steps", str(steps), "--lr-decay-steps", str(steps),
            "--augment-share", "0.75" if augment else "0", "--seed", str(seed),
            "--threads", str(threads), "--amp", "off", "--sample-every", "0",
            "--checkpoint-every", "0", "--force",
        ]  # fmt: skip
        if glyph_sets:
            args += ["--glyph-sets", ",".join(glyph_sets)]
        hangulgan(*args)
        seconds = time.perf_counter() - start
        clf = str(run.with_name(run.name + "-clf"))
        hangulgan("classifier-export", str(run), "--out", clf, "--force")  # an earlier export
        meta = json.loads(run.with_name(run.name + "-clf.json").read_text(encoding="utf-8"))
        result.write_text(json.dumps({"heldout": meta["heldout"], "seconds": seconds}))
    record = json.loads(result.read_text(encoding="utf-8"))
    return record["heldout"], record["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="corpus", help="corpus from `hangulgan render fonts/`")
    parser.add_argument("--out", default="/tmp/ocr-augment", help="runs and styles (resumable)")
    parser.add_argument("--steps", type=int, default=600, help="training steps of every run")
    parser.add_argument("--random-styles", type=int, default=16, help="random blends drawn")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=1, help="seeds of every run (means)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = Report("ocr_augment")
    start = time.perf_counter()
    styles = draw_styles(out / "styles", args.random_styles)
    draw_seconds = time.perf_counter() - start
    from hangulgan.data.corpus import Corpus

    seen = [name for name in Corpus.open(args.corpus).face_names if name not in TEST]
    arms = {
        "real": (FEW, False, []),
        "real + augmentation": (FEW, True, []),
        "real + styles": (FEW, False, styles),
        "real + styles + augmentation": (FEW, True, styles),
        f"for scale: all {len(seen)} faces the styled model saw, real, + augmentation": (
            seen,
            True,
            [],
        ),
    }
    scores = {}
    for number, (label, (faces, augment, sets)) in enumerate(arms.items(), 1):
        runs = []
        for seed in range(1, args.seeds + 1):
            run = out / f"run-s{seed}-{number}"
            runs.append(
                train_and_test(
                    args.corpus, run, faces, args.steps, args.threads, augment, sets, seed
                )
            )
        accuracies = [heldout["content_accuracy"] for heldout, _ in runs]
        scores[label] = float(np.mean(accuracies))
        per_face = {name: float(np.mean([h["per_face"][name] for h, _ in runs])) for name in TEST}
        worst = min(per_face, key=per_face.get)
        spread = f" ± {np.std(accuracies):.3f}" if len(runs) > 1 else ""
        report.add(
            f"{label}: held-out accuracy",
            f"{scores[label]:.3f}{spread} (worst {worst} {per_face[worst]:.3f}; "
            f"{runs[0][0]['glyphs']:,} glyphs; {np.mean([t for _, t in runs]):.0f} s a run)",
        )
    gain_real = scores["real + styles"] - scores["real"]
    gain_aug = scores["real + styles + augmentation"] - scores["real + augmentation"]
    report.add("styles over real alone", f"{gain_real:+.3f}", "> 0", gain_real > 0)
    report.add("styles over plain augmentation", f"{gain_aug:+.3f}", "> 0", gain_aug > 0)
    report.add(
        "setting",
        f"{len(FEW)} real faces, {len(styles)} generated styles ({draw_seconds:.0f} s to "
        f"draw), {args.steps} steps × 256, {args.threads} threads, {args.seeds} seed(s), "
        f"tested on {len(TEST)} faces",
    )
    sys.exit(report.finish())


if __name__ == "__main__":
    main()
