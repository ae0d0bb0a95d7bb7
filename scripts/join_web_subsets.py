"""Join one face's web-font subset files (WOFF/WOFF2/TTF, TrueType outlines) into one TTF.

    python scripts/join_web_subsets.py fonts/web/gaegu/400 Gaegu-Regular.ttf

Web-font packages cut each weight into unicode-range subsets. The render stage reads such a
folder as one face (`collect_faces`); tools that want a single font file (Tesseract through
`hangulgan evaluate --ocr`, `hangulgan complete`) get that same face from this script. Its
first part is the base: its tables, names and metrics are kept, and every code point a later
part maps and the earlier ones lack is added with that part's outline and advance, as drawn
(the render stage's rule: the first part that maps a code point draws it). CFF subsets are
refused. Used for the README's Tesseract reading of the original
held-out web fonts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, TTLibError

# tables that list every glyph by index and are optional: rebuilt fonts do without them
PER_GLYPH_TABLES = ("hdmx", "LTSH", "VDMX", "vmtx", "vhea")


def join(files: list[Path], out: Path) -> int:
    """Write the joined font to ``out``; returns the number of mapped code points.
    ValueError names a file that is not a TrueType font."""
    fonts = []
    for path in files:
        try:
            font = TTFont(path)
        except (TTLibError, OSError) as err:
            raise ValueError(f"{path}: cannot read it as a font ({err})") from None
        if "glyf" not in font:
            raise ValueError(f"{path}: not TrueType outlines (CFF subsets are not joined)")
        fonts.append(font)
    base = fonts[0]
    cmap = base.getBestCmap() or {}
    order = list(base.getGlyphOrder())
    names = set(order)
    unicode_tables = [table for table in base["cmap"].tables if table.isUnicode()]
    for font in fonts[1:]:
        glyphs = font.getGlyphSet()
        for codepoint, name in sorted((font.getBestCmap() or {}).items()):
            if codepoint in cmap:
                continue
            new = f"uni{codepoint:04X}"
            while new in names:
                new += "_"
            pen = TTGlyphPen(glyphs)  # composites are drawn out into plain contours
            glyphs[name].draw(pen)
            base["glyf"][new] = pen.glyph()
            base["hmtx"][new] = font["hmtx"][name]
            order.append(new)
            names.add(new)
            for table in unicode_tables:
                if table.format != 4 or codepoint <= 0xFFFF:
                    table.cmap[codepoint] = new
            cmap[codepoint] = new
    for tag in PER_GLYPH_TABLES:
        if tag in base:
            del base[tag]
    base.setGlyphOrder(order)
    base["maxp"].numGlyphs = len(order)
    base["post"].formatType = 3.0  # no glyph names stored: the added ones need none
    base.flavor = None
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    base.save(partial)
    partial.replace(out)
    return len(cmap)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the subset files of one face")
    parser.add_argument("out", type=Path, help="the TTF to write")
    args = parser.parse_args()
    from hangulgan.data.fonts import collect_faces
    from hangulgan.data.webfonts import SplitFaceInfo

    faces, skipped = collect_faces([args.folder])
    for skip in skipped:
        print(f"{skip.path}: cannot read it as a font face ({skip.reason})", file=sys.stderr)
    split = [face for face in faces if isinstance(face, SplitFaceInfo)]
    if len(faces) != 1 or len(split) != 1:
        print(
            f"{args.folder}: holds {len(faces)} faces, {len(split)} of them split over subset "
            "files; give the folder of one split face",
            file=sys.stderr,
        )
        return 2
    files = [part.path for part in split[0].parts]
    try:
        mapped = join(files, args.out)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    print(f"{args.out}: {len(files)} files joined, {mapped} code points mapped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
