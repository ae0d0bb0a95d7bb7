"""Tables around already compiled glyphs: the font that ``build_font`` saves.

Every glyph arrives compiled with its bounds and point counts known, so fontTools never
re-parses glyphs to find them: ``recalcBBoxes`` is off and head, hhea, maxp and the CFF
font box are filled here. The font gets its source's vertical metrics (hhea, OS/2 typo and
win) scaled to UPM 1000, so it sets each glyph where the source font had it.
"""

from __future__ import annotations

from typing import Any

from fontTools.fontBuilder import FontBuilder
from fontTools.misc.psCharStrings import T2CharString
from fontTools.ttLib import TTFont, newTable
from fontTools.ttLib.tables._g_l_y_f import Glyph

from hangulgan import hangul
from hangulgan.data.placement import VerticalMetrics
from hangulgan.errors import VectorError
from hangulgan.vector.geometry import ADVANCE, UPM
from hangulgan.vector.names import FontInfo, mac_roman_ok, name_records
from hangulgan.vector.outlines import notdef_glyph

SPACE_ADVANCE = 250
# Code pages (OS/2 ulCodePageRange1 bits): 0 Latin 1, 19 Korean Wansung (949), 21 Korean Johab.
CODEPAGE_LATIN1 = 0
CODEPAGE_WANSUNG = 19
CODEPAGE_JOHAB = 21


def assemble_font(
    info: FontInfo,
    glyphs: dict[int, tuple[Any, int, tuple[int, int, int, int], int, int]],
    fmt: str,
    content_digest: bytes,
    metrics: VerticalMetrics | None = None,
    default_advance: int = ADVANCE,
) -> TTFont:
    """Tables around already compiled glyphs: code point → (data, advance, bounds, points,
    contours). Space is added when absent. Returns the font, not yet saved.

    ``metrics`` (in units of 1000 per em) are the source font's vertical metrics, written as
    they are except that the win values grow to the glyphs' bounds (Windows clips ink
    outside them); without them the CJK convention (880/-120) is written, with hhea grown
    like win. ``default_advance`` is the usual advance (the CFF default width)."""
    info.validate()
    is_ttf = fmt == "ttf"
    glyphs = dict(glyphs)
    glyphs.setdefault(0x20, (b"" if is_ttf else [], SPACE_ADVANCE, (0, 0, 0, 0), 0, 0))
    notdef = notdef_glyph(fmt)
    order = [".notdef"]
    names = {}
    for cp in sorted(glyphs):
        name = "space" if cp == 0x20 else f"uni{cp:04X}" if cp <= 0xFFFF else f"u{cp:05X}"
        names[cp] = name
        order.append(name)
    entries = {".notdef": (notdef[0], 500, *notdef[1:])}
    entries.update({names[cp]: glyphs[cp] for cp in glyphs})

    fb = FontBuilder(UPM, isTTF=is_ttf)
    # Every glyph arrives compiled with its bounds known: stop fontTools from expanding all
    # of them again to recompute bounds, maxp and hhea, and fill those fields here instead.
    fb.font.recalcBBoxes = False
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap({cp: names[cp] for cp in glyphs})
    inked = [e for e in entries.values() if e[4] > 0]
    x_min = min(e[2][0] for e in inked)
    y_min = min(e[2][1] for e in inked)
    x_max = max(e[2][2] for e in inked)
    y_max = max(e[2][3] for e in inked)
    if is_ttf:
        table = {}
        for name, (data, *_rest) in entries.items():
            glyph = Glyph(data) if data else Glyph()
            table[name] = glyph
        # FontBuilder.setupGlyf would expand every glyph to look for cubic flags; these
        # are compiled quadratic glyphs already, so the tables are set up directly.
        fb.font["loca"] = newTable("loca")
        glyf = fb.font["glyf"] = newTable("glyf")
        glyf.glyphs = table
        glyf.glyphOrder = order
    else:
        charstrings = {}
        for name, (program, advance, *_rest) in entries.items():
            # widths are written relative to nominalWidthX = 0 unless equal to the default
            prefix = [] if advance == default_advance else [advance]
            body = program if program else ["endchar"]
            charstrings[name] = T2CharString(program=prefix + list(body))
        fb.setupCFF(
            info.postscript_name(),
            {
                "FullName": f"{info.family} {info.style}",
                "FamilyName": info.family,
                "Weight": info.style,
                "version": info.version,
                "Notice": info.copyright or info.licence[:200],
            },
            charstrings,
            {"defaultWidthX": default_advance, "nominalWidthX": 0},
        )
        # with recalcBBoxes off nothing fills the CFF's own font box: set it like head's
        fb.font["CFF "].cff.topDictIndex[0].FontBBox = [x_min, y_min, x_max, y_max]
    hmtx = {name: (entry[1], entry[2][0] if entry[4] else 0) for name, entry in entries.items()}
    fb.setupHorizontalMetrics(hmtx)
    source = metrics
    if source is None:
        source = VerticalMetrics.cjk_default(UPM)
    win_ascent = max(source.win_ascent, y_max)
    win_descent = max(source.win_descent, -y_min)
    if metrics is None:  # no source to follow: lines as tall as the ink, as Windows sees it
        hhea_ascent, hhea_descent, hhea_gap = win_ascent, -win_descent, 0
    else:
        hhea_ascent = source.hhea_ascender
        hhea_descent = source.hhea_descender
        hhea_gap = source.hhea_line_gap
    advances = [m[0] for m in hmtx.values()]
    right_bearings = [e[1] - e[2][2] for e in entries.values() if e[4]]
    fb.setupHorizontalHeader(
        ascent=hhea_ascent,
        descent=hhea_descent,
        lineGap=hhea_gap,
        advanceWidthMax=max(advances),
        minLeftSideBearing=min(e[2][0] for e in inked),
        minRightSideBearing=min(right_bearings),
        xMaxExtent=max(e[2][2] for e in inked),
    )
    names_table = name_records(info, content_digest)
    try:
        # Mac records only for what Mac Roman can spell: a Korean family stays Windows-only
        # rather than failing or writing mojibake.
        fb.setupNameTable(names_table, mac=mac_roman_ok(names_table))
    except (UnicodeError, ValueError) as err:
        raise VectorError(f"font name cannot be written to a name table ({err})") from None
    codepages = 0
    if any(hangul.is_syllable(cp) for cp in glyphs):
        codepages |= 1 << CODEPAGE_WANSUNG
    if all(cp in glyphs for cp in hangul.all_syllables()):
        codepages |= 1 << CODEPAGE_JOHAB
    if all(cp in glyphs for cp in range(0x41, 0x5B)):
        codepages |= 1 << CODEPAGE_LATIN1
    style = info.style.lower()
    selection = 0
    if "italic" in style or "oblique" in style:
        selection |= 1 << 0
    if info.weight >= 700 and info.is_ribbi:
        selection |= 1 << 5
    if not selection:
        selection |= 1 << 6  # REGULAR
    if source.use_typo_metrics:
        selection |= 1 << 7  # USE_TYPO_METRICS: line spacing from the typo values, as the source
    fb.setupOS2(
        version=4,
        achVendID=info.vendor.ljust(4),
        usWeightClass=info.weight,
        fsType=0,
        fsSelection=selection,
        sTypoAscender=source.typo_ascender,
        sTypoDescender=source.typo_descender,
        sTypoLineGap=source.typo_line_gap,
        usWinAscent=win_ascent,
        usWinDescent=win_descent,
        ulCodePageRange1=codepages,
        ulCodePageRange2=0,
        sxHeight=0,
        sCapHeight=0,
        usDefaultChar=0,
        usBreakChar=0x20,
        usMaxContext=0,
        usFirstCharIndex=min(glyphs),
        usLastCharIndex=min(max(glyphs), 0xFFFF),
    )
    fb.setupPost(keepGlyphNames=is_ttf)
    head = fb.font["head"]
    head.fontRevision = float(info.version)
    head.xMin, head.yMin, head.xMax, head.yMax = x_min, y_min, x_max, y_max
    head.macStyle = (1 if info.weight >= 700 and info.is_ribbi else 0) | (2 if selection & 1 else 0)
    if is_ttf:
        fb.setupMaxp()
        maxp = fb.font["maxp"]
        maxp.numGlyphs = len(order)
        maxp.maxPoints = max(e[3] for e in entries.values())
        maxp.maxContours = max(e[4] for e in entries.values())
        maxp.maxCompositePoints = 0
        maxp.maxCompositeContours = 0
        maxp.maxComponentElements = 0
        maxp.maxComponentDepth = 0
        maxp.maxZones = 1
    return fb.font
