"""Make docs/styled-specimen.png: held-out faces, real beside drawn, then a mix and a random style.

    .venv/bin/python docs/styled_specimen.py --corpus corpus/ [--weights FILE] [--out PNG]

For each held-out face of the weights (their training run's split) that the corpus holds:
a row of its real glyphs of :data:`TEXT`, then a row drawn from the eight default
references of that face (never among the syllables shown). Then the mix
NanumMyeongjo:0.5 + NanumPen:0.5 and ``random_style(7)``. Black on white, 2× pixels.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from hangulgan.data.corpus import Corpus
from hangulgan.models.styled_inference import StyledGenerator, default_references

TEXT = "람쥐바퀴에타고파한글꼴"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--weights", default=None, help="default: the shipped weights")
    parser.add_argument("--out", default="docs/styled-specimen.png")
    args = parser.parse_args()
    generator = StyledGenerator.load(args.weights)
    corpus = Corpus.open(args.corpus)
    cps = [ord(c) for c in TEXT]
    refs = default_references()
    rows = []
    for name in generator.data.holdout_face_list:
        if name not in corpus.face_names:
            continue
        face = corpus.face(name, augmented=False)
        rows.append(np.stack([face.image(c) for c in cps]))
        style = generator.style_from_images(np.stack([face.image(c) for c in refs]), refs)
        rows.append(generator.draw(style, cps))
    rows.append(generator.draw(generator.mix({"NanumMyeongjo": 0.5, "NanumPen": 0.5}), cps))
    rows.append(generator.draw(generator.random_style(7), cps))
    sheet = 255 - np.concatenate([np.concatenate(list(row), axis=1) for row in rows], axis=0)
    image = Image.fromarray(sheet.astype(np.uint8))
    image = image.resize((image.width * 2, image.height * 2), Image.Resampling.LANCZOS)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    image.save(args.out, optimize=True)
    print(f"wrote {args.out} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
