"""The styled generator's specimen for the README: held-out faces, real beside generated.

    python scripts/styled_specimen.py CORPUS OUT.png [--weights FILE] [--text TEXT]

For each face the shipped weights never trained on that the corpus holds, one row of its
real glyphs of TEXT and one row drawn from its 8 default references (none of them in
TEXT); then rows of styles no one drew: a mix of two faces and a random blend.
"""

from __future__ import annotations

import argparse

import numpy as np

from hangulgan.data.corpus import Corpus, _write_sheet
from hangulgan.models.styled import DEFAULT_REFERENCES
from hangulgan.models.styled_inference import StyledGenerator

TEXT = "다람쥐헌쳇바퀴에타고파한글꼴"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("out")
    parser.add_argument("--weights", default=None)
    parser.add_argument("--text", default=TEXT)
    parser.add_argument("--mix", default="NanumMyeongjo:0.5,NanumPen:0.5")
    args = parser.parse_args()
    corpus = Corpus.open(args.corpus)
    generator = StyledGenerator.load(args.weights)
    refs = [ord(c) for c in DEFAULT_REFERENCES]
    text = [ord(c) for c in args.text if ord(c) not in refs]
    rows: list[list[np.ndarray | None]] = []
    for name in generator.data.holdout_face_list:
        if name not in corpus.face_names:
            continue
        glyphs = corpus.face(name, augmented=False)
        held = set(glyphs.codepoints.tolist())
        if not all(cp in held for cp in refs):
            continue
        style = generator.style_from_images(np.stack([glyphs.image(cp) for cp in refs]), refs)
        drawn = generator.draw(style, text)
        rows.append([glyphs.image(cp) if cp in held else None for cp in text])
        rows.append(list(drawn))
        print(f"rows {len(rows) - 1}-{len(rows)}: {name}, real then generated")
    weights = {}
    for item in args.mix.split(","):
        face, _, weight = item.rpartition(":")
        weights[face] = float(weight)
    rows.append(list(generator.draw(generator.mix(weights), text)))
    print(f"row {len(rows)}: mix {args.mix}")
    rows.append(list(generator.draw(generator.random_style(7), text)))
    print(f"row {len(rows)}: {generator.random_style(7).label}")
    _write_sheet(rows, args.out, scale=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
