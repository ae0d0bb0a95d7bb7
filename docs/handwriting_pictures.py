"""Make the pictures of docs/handwriting.md: a filled-in sheet as a phone photographs it, the
contact sheet ``from-scan`` writes, and a specimen of the font made from it.

    .venv/bin/python docs/handwriting_pictures.py [--pen FONT.ttf] [--docs docs/]

The "handwriting" is a handwriting font (UnPilgi by default, a pen face the shipped model
never trained on) written into the template's boxes with jitter in size and position,
photographed by :mod:`hangulgan.scan.synthetic` (printer blur, a 12° perspective, a
lighting gradient and a shadow, noise, JPEG); the rest runs the real commands:
``hangulgan template``, ``hangulgan from-scan … --font`` (which adapts to what was read).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

PEN = "/usr/share/fonts/truetype/unfonts-core/UnPilgi.ttf"


def hangulgan(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "hangulgan", *args], check=True)


def main() -> None:
    from hangulgan.data.placement import Geometry
    from hangulgan.scan.font import generator_placement
    from hangulgan.scan.layout import decode_code
    from hangulgan.scan.synthetic import fill_page, photograph
    from hangulgan.scan.template import rasterise

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pen", default=PEN, help="the handwriting font to write with")
    parser.add_argument("--docs", default="docs", help="where the pictures go")
    args = parser.parse_args()
    docs = Path(args.docs)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        hangulgan("template", "--out", str(folder / "sheet.pdf"))
        page_image = rasterise(folder / "sheet.pdf", 200)[0]
        import zxingcpp

        page = decode_code(zxingcpp.read_barcodes(np.asarray(page_image))[0].text)
        geometry = Geometry.from_meta(generator_placement()["geometry"])
        rng = np.random.default_rng(22)
        written, _ = fill_page(page_image, page, args.pen, geometry, rng)
        photo = folder / "page1.jpg"
        photo.write_bytes(photograph(written, rng, tilt_deg=12, long_side=2400, dpi=200))
        hangulgan(
            "from-scan",
            str(photo),
            "--out",
            str(folder / "MyHand"),
            "--font",
            str(folder / "MyHand.ttf"),
        )
        with Image.open(photo) as shot:
            shot.thumbnail((900, 900))
            shot.save(docs / "handwriting-photo.jpg", quality=80)
        with Image.open(folder / "MyHand" / "preview.png") as preview:
            preview.save(docs / "handwriting-preview.png", optimize=True)
        with Image.open(folder / "MyHand.specimen.png") as specimen:
            specimen.save(docs / "handwriting-specimen.png", optimize=True)


if __name__ == "__main__":
    main()
