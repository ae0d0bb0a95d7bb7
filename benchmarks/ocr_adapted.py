"""Tesseract on fonts drawn from 8 references of each held-out face, with and without
adaptation (issue 21's legibility check that no classifier in the loss can flatter).

    python benchmarks/ocr_adapted.py [--corpus corpus/] [--faces A,B] [--out DIR]

For each held-out face of the shipped weights: the 8 references ``evaluate --fewshot``
chooses (never held-out syllables), the paragraph of ``evaluate --ocr`` drawn by the
generator (as given for the references, as ``generate`` keeps them) without and with
adaptation, each traced into a font by export-ttf's builder (Latin and punctuation from
NanumGothic) and read by Tesseract, beside the face's original font file read the same way.
Exits 1 when an adapted font reads under 0.90 and under its original font file (issue 21's
target: a handwriting design Tesseract reads poorly itself cannot be asked to read better).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from report import Report

from hangulgan import hangul
from hangulgan.data.corpus import Corpus
from hangulgan.eval.tesseract import PARAGRAPH, ocr_font
from hangulgan.models.styled_fewshot import choose_references
from hangulgan.models.styled_inference import StyledGenerator
from hangulgan.models.styled_split import holdout_syllables
from hangulgan.vector.fontbuild import build_font
from hangulgan.vector.names import FontInfo

FALLBACK = "/usr/share/fonts/truetype/nanum/NanumGothic.ttf"
TARGET = 0.90


def read_drawn(generator: StyledGenerator, images, refs, label: str, folder: Path) -> float:
    """Tesseract's accuracy on the paragraph drawn by ``generator`` and traced to a font."""
    text = "".join(PARAGRAPH)
    syllables = sorted({ord(c) for c in text if hangul.is_syllable(ord(c))})
    style = generator.style_from_images(images, refs, label=label)
    glyphs = generator.glyphset(style, syllables, name=label, keep=(images, refs))
    font = folder / f"{label}.ttf"
    build_font(glyphs, font, info=FontInfo(family=label), fallback=FALLBACK, workers=2)
    return float(ocr_font(font).accuracy)


def _original_reading(corpus: Corpus, face: str) -> float | None:
    """Tesseract on the font file the corpus rendered ``face`` from (None: a web font's
    split folder, or a file no longer there)."""
    record = corpus.manifest.get("faces", {}).get(face, {})
    path = Path(str(record.get("file", "")))
    if not path.is_file():
        return None
    return float(ocr_font(path, int(record.get("face_index", 0))).accuracy)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="corpus")
    parser.add_argument("--faces", default="")
    parser.add_argument("--out", default="", help="keep the fonts here (default: a temp dir)")
    args = parser.parse_args(argv)
    generator = StyledGenerator.load()
    corpus = Corpus.open(args.corpus)
    faces = args.faces.split(",") if args.faces else generator.data.holdout_face_list
    held = set(holdout_syllables(generator.data.holdout_fraction, generator.data.split_seed))
    report = Report("ocr_adapted")
    with tempfile.TemporaryDirectory(prefix="hangulgan-ocr-") as tmp:
        folder = Path(args.out or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{'face':22s}{'unadapted':>11s}{'adapted':>9s}{'original':>10s}")
        for face in faces:
            glyphs = corpus.face(face, augmented=False)
            refs = choose_references(glyphs, 8, held)
            images = np.stack([glyphs.image(cp) for cp in refs])
            plain = read_drawn(generator, images, refs, f"{face}-plain", folder)
            tuned = generator.adapted(images, refs, label=face)
            adapted = read_drawn(tuned, images, refs, f"{face}-adapted", folder)
            original = _original_reading(corpus, face)
            shown = "—" if original is None else f"{original:.3f}"
            print(f"{face:22s}{plain:11.3f}{adapted:9.3f}{shown:>10s}", flush=True)
            report.add(
                f"Tesseract, {face} drawn from 8 refs, adapted (unadapted {plain:.3f})",
                f"{adapted:.3f}",
                f">= {TARGET} or >= the original's {shown}",
                adapted >= TARGET or (original is not None and adapted >= original),
            )
    return report.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
