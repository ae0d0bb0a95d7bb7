"""Tesseract on fonts drawn for held-out faces, beside each face's own glyphs (README table).

    python benchmarks/ocr_heldout.py --corpus corpus/ --out /tmp/ocr-heldout [--weights FILE]
        [--faces A,B]

For each held-out face of the weights (default: all of them that the corpus holds), the
syllables of the fixed OCR paragraph are drawn from the face's 8 default references
(tone-calibrated), and the same syllables are taken from the face's own corpus glyphs.
Both go through the same path: `export-ttf` (potrace), then `evaluate --ocr` (Tesseract).
Target (issue 10): the drawn font reads at ≥ 0.90; exits 1 when a face misses.
About a minute per face on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
from report import Report

from hangulgan import hangul
from hangulgan.data.corpus import Corpus
from hangulgan.data.glyphset import GlyphSet
from hangulgan.eval.tesseract import PARAGRAPH
from hangulgan.models.styled_inference import StyledGenerator, default_references

TARGET = 0.90


def read_back(glyphs: GlyphSet, folder: Path) -> float:
    """Tesseract's accuracy on ``glyphs`` traced into a font (export-ttf, evaluate --ocr)."""
    glyphs.save(folder / glyphs.name, overwrite=True)
    font = folder / f"{glyphs.name}.ttf"
    hangulgan = [sys.executable, "-m", "hangulgan"]
    subprocess.run(
        [*hangulgan, "export-ttf", str(folder / glyphs.name), "--out", str(font), "--force"],
        check=True,
        capture_output=True,
    )
    result = subprocess.run(
        [*hangulgan, "evaluate", "--ocr", str(font)], capture_output=True, text=True
    )
    rows = [line for line in result.stdout.splitlines() if line.startswith(str(font))]
    if not rows:
        raise RuntimeError(f"{font}: no OCR figure in\n{result.stdout}{result.stderr}")
    return float(rows[-1].split()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--out", required=True, help="folder for the glyph sets and fonts")
    parser.add_argument("--weights", default=None, help="default: the shipped weights")
    parser.add_argument("--faces", default=None, help="comma-separated; default: all held out")
    args = parser.parse_args()
    report = Report("ocr-heldout")
    generator = StyledGenerator.load(args.weights)
    corpus = Corpus.open(args.corpus)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    wanted = sorted({ord(c) for line in PARAGRAPH for c in line if hangul.is_syllable(ord(c))})
    refs = default_references()
    faces = args.faces.split(",") if args.faces else generator.data.holdout_face_list
    for name in [face for face in faces if face in corpus.face_names]:
        face = corpus.face(name, augmented=False)
        style = generator.style_from_images(np.stack([face.image(c) for c in refs]), refs, name)
        geometry = {k: face.meta[k] for k in ("placement", "geometry") if k in face.meta}
        drawn = generator.glyphset(style, wanted, name=f"drawn-{name}", placement=geometry)
        own = face.subset(wanted)
        own.name = f"own-{name}"
        drawn_accuracy, own_accuracy = read_back(drawn, out), read_back(own, out)
        report.add(
            f"OCR of {name} drawn from 8 references (its own glyphs)",
            f"{drawn_accuracy:.3f} ({own_accuracy:.3f})",
            f"≥ {TARGET:.2f}",
            drawn_accuracy >= TARGET,
        )
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
