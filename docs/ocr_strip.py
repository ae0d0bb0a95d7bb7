"""The README's OCR example strips, made by `hangulgan ocr-export` itself.

    python docs/ocr_strip.py --corpus corpus/ --out docs/

docs/ocr-words.png: augmented words set from four Nanum faces by the built-in frequency
sampler. docs/ocr-styles.png: augmented words in eight styles the styled model draws for
the run (``--styles random:8``): faces no one drew. Each is 16 samples in two columns,
scaled ×2.5.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

HANGULGAN = str(Path(sys.executable).with_name("hangulgan"))
FACES = ("NanumGothic", "NanumMyeongjo", "NanumPen", "NanumBrush")
SCALE = 2.5
COLUMN = 380  # pixels of a column, scaled


def export(out: Path, seed: int, *args: str) -> list[Path]:
    """Run ocr-export into ``out``; the images in gt.txt's order."""
    command = [HANGULGAN, "ocr-export", *args, "--out", str(out), "--kind", "words"]
    command += ["--count", "16", "--augment", "--seed", str(seed), "--quiet", "--force"]
    subprocess.run(command, check=True)
    lines = (out / "gt" / "gt.txt").read_text(encoding="utf-8").splitlines()
    return [out / "gt" / line.split("\t")[0] for line in lines]


def strip(images: list[Path], path: Path) -> None:
    """Two columns of scaled samples on white, written to ``path``."""
    tiles = []
    for image in images:
        tile = Image.open(image).convert("L")
        tiles.append(tile.resize((round(tile.width * SCALE), round(tile.height * SCALE))))
    rows = (len(tiles) + 1) // 2
    height = max(t.height for t in tiles)
    sheet = Image.new("L", (2 * COLUMN, rows * (height + 4)), 255)
    for i, tile in enumerate(tiles):
        if tile.width > COLUMN - 8:
            tile = tile.crop((0, 0, COLUMN - 8, tile.height))
        sheet.paste(tile, ((i % 2) * COLUMN, (i // 2) * (height + 4)))
    sheet.save(path, optimize=True)
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="corpus")
    parser.add_argument("--out", default="docs")
    args = parser.parse_args()
    out = Path(args.out)
    with tempfile.TemporaryDirectory() as scratch:
        faces = [f"{args.corpus}::{name}" for name in FACES]
        strip(export(Path(scratch) / "words", 3, *faces), out / "ocr-words.png")
        strip(export(Path(scratch) / "styles", 5, "--styles", "random:8"), out / "ocr-styles.png")


if __name__ == "__main__":
    main()
