"""The handwriting sheet's geometry and its machine-readable code (sheet version 1).

Everything is in millimetres of the printed page, measured from its top-left corner, x to
the right and y down. A page holds, from the top:

- four registration marks, solid squares of :data:`MARK_SIZE` mm whose outer edges lie
  :data:`MARK_INSET` mm from the paper's edges; the top-left one has a white square hole,
  so the marks alone tell which way up the page is;
- a title line between the top marks;
- writing boxes of :data:`BOX` mm in a grid, each with the syllable to write printed small
  and light above its top-left corner (outside the writing area), and inside it two faint
  guides: the em square (:data:`EM` mm, centred) and the baseline, :data:`BASELINE` of
  the em below the em square's top;
- a QR code of :data:`CODE_SIZE` mm at the bottom centre, holding the sheet version, the
  paper, the page number and count, an identifier of the whole sheet and the page's
  syllables (:func:`encode_code`), so a page is read without ``sheet.json`` and without a
  network.

The box positions follow from the paper and the page's syllables alone
(:func:`page_boxes`), so the reader rebuilds a page's layout from its code.

The guides carry the corpus's placement convention: the em square is the glyph's em, and
the baseline lies where the shipped generator's corpus has it, 0.8 em below the em top
(NanumGothic's typo ascender 800 of 1000 units, the content face of the shipped weights).
The reader maps the printed em square and baseline onto the glyph set's own (see
:func:`hangulgan.scan.read.canvas_to_page`), so a syllable written small or high stays so.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from math import ceil
from typing import Any

from hangulgan import hangul

SHEET_VERSION = 1
PAPERS: dict[str, tuple[float, float]] = {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}
PAPER_CODES = {"a4": "A", "letter": "L"}

MARK_SIZE = 8.0  # side of a registration mark
MARK_INSET = 10.0  # from the paper's edge to the mark's outer edge (printers leave ~5 mm)
MARK_HOLE = 3.6  # side of the white hole in the top-left mark
BOX = 22.0  # side of a writing box (the issue asks for at least 15 mm)
EM = 18.0  # side of the em square inside it, centred
BASELINE = 0.8  # the baseline, as a fraction of the em below the em square's top
COLUMN_PITCH = 28.0  # box + 6 mm between columns
ROW_PITCH = 29.0  # box + 7 mm above each box for its printed syllable
LABEL_BAND = 7.0  # the band above a box that holds its syllable
GRID_TOP = 28.0  # top of the first label band (below the title line)
CODE_SIZE = 24.0  # side of the QR code (quiet zone included in the white around it)
CODE_GAP = 5.0  # free paper between the lowest box and the code
SIDE_MARGIN = 20.0  # left and right of the grid, at least

# the code's alphabet: QR's alphanumeric mode holds 0-9 A-Z (5.5 bits a character)
_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_CODE = re.compile(r"^HG(\d+)\.(.*)$", re.DOTALL)
_BODY_V1 = re.compile(r"^([AL])(\d\d)(\d\d)([0-9A-Z]{4})\.([0-9A-Z]*)$")
CORNERS = ("top-left", "top-right", "bottom-right", "bottom-left")


@dataclass(frozen=True)
class Box:
    """One writing box: ``syllable`` at (``x``, ``y``) top-left, ``size`` mm square."""

    syllable: str
    x: float
    y: float
    size: float = BOX

    @property
    def em(self) -> tuple[float, float, float]:
        """(left, top, side) of the em square guide."""
        margin = (self.size - EM) / 2
        return self.x + margin, self.y + margin, EM

    @property
    def baseline_y(self) -> float:
        """y of the baseline guide."""
        left, top, side = self.em
        return top + BASELINE * side

    def to_json(self) -> dict[str, Any]:
        """The box as ``sheet.json`` lists it."""
        return {
            "syllable": self.syllable,
            "x_mm": round(self.x, 3),
            "y_mm": round(self.y, 3),
            "size_mm": self.size,
        }


@dataclass(frozen=True)
class Page:
    """One printed page of a sheet."""

    paper: str
    number: int  # 1-based
    pages: int
    sheet_id: str
    boxes: tuple[Box, ...]

    @property
    def size(self) -> tuple[float, float]:
        """(width, height) of the paper in mm."""
        return PAPERS[self.paper]

    @property
    def syllables(self) -> str:
        """The page's syllables, in box order."""
        return "".join(box.syllable for box in self.boxes)

    @property
    def marks(self) -> tuple[tuple[float, float], ...]:
        """Centres of the registration marks: top-left, top-right, bottom-right, bottom-left."""
        return mark_centres(self.paper)

    @property
    def code_rect(self) -> tuple[float, float, float]:
        """(left, top, side) of the QR code."""
        return code_rect(self.paper)

    @property
    def code(self) -> str:
        """The text of the page's QR code."""
        return encode_code(self)


@dataclass(frozen=True)
class Sheet:
    """A whole template: its pages and the identifier every page's code carries."""

    paper: str
    pages: tuple[Page, ...]
    sheet_id: str
    version: int = SHEET_VERSION

    @property
    def syllables(self) -> str:
        """Every syllable of the sheet, page by page."""
        return "".join(page.syllables for page in self.pages)

    def to_json(self) -> dict[str, Any]:
        """``sheet.json``: version, paper size and every box of every page, in mm."""
        width, height = PAPERS[self.paper]
        return {
            "version": self.version,
            "paper_mm": [_plain(width), _plain(height)],
            "pages": [{"boxes": [box.to_json() for box in page.boxes]} for page in self.pages],
        }


def _plain(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def mark_centres(paper: str) -> tuple[tuple[float, float], ...]:
    """Centres of the four registration marks of ``paper``, clockwise from the top-left."""
    width, height = PAPERS[paper]
    near = MARK_INSET + MARK_SIZE / 2
    return (
        (near, near),
        (width - near, near),
        (width - near, height - near),
        (near, height - near),
    )


def code_rect(paper: str) -> tuple[float, float, float]:
    """(left, top, side) of the QR code on ``paper``: bottom centre, level with the marks."""
    width, height = PAPERS[paper]
    return (width - CODE_SIZE) / 2, height - MARK_INSET - CODE_SIZE, CODE_SIZE


def grid_shape(paper: str) -> tuple[int, int]:
    """(columns, rows) of writing boxes a page of ``paper`` holds."""
    width, height = PAPERS[paper]
    columns = int((width - 2 * SIDE_MARGIN + COLUMN_PITCH - BOX) // COLUMN_PITCH)
    bottom = code_rect(paper)[1] - CODE_GAP
    first = GRID_TOP + LABEL_BAND
    rows = int((bottom - first - BOX) // ROW_PITCH) + 1
    return columns, rows


def page_capacity(paper: str) -> int:
    """How many boxes a page of ``paper`` holds."""
    columns, rows = grid_shape(paper)
    return columns * rows


def page_boxes(paper: str, syllables: str) -> tuple[Box, ...]:
    """The boxes of one page holding ``syllables``, row by row, the grid centred."""
    width, _ = PAPERS[paper]
    columns, rows = grid_shape(paper)
    if len(syllables) > columns * rows:
        raise ValueError(f"{len(syllables)} syllables do not fit one page ({columns * rows})")
    left = (width - ((columns - 1) * COLUMN_PITCH + BOX)) / 2
    return tuple(
        Box(
            syllable,
            left + (i % columns) * COLUMN_PITCH,
            GRID_TOP + LABEL_BAND + (i // columns) * ROW_PITCH,
        )
        for i, syllable in enumerate(syllables)
    )


def sheet_id(paper: str, syllables: str, version: int = SHEET_VERSION) -> str:
    """Four characters that name a sheet: pages of one sheet share them, so pages of two
    different sheets are never read as one."""
    digest = hashlib.sha256(f"{version}|{paper}|{syllables}".encode()).digest()
    number = int.from_bytes(digest[:4], "big")
    return "".join(_DIGITS[(number // 36**k) % 36] for k in range(4))


def make_sheet(syllables: Sequence[int] | str, paper: str = "a4") -> Sheet:
    """The sheet for ``syllables`` (code points or text, Hangul syllables only, no repeats)
    on ``paper``, as many pages as they need. ValueError names what is wrong."""
    if paper not in PAPERS:
        raise ValueError(f"paper {paper!r}: choose one of {', '.join(PAPERS)}")
    text = syllables if isinstance(syllables, str) else "".join(map(chr, syllables))
    if not text:
        raise ValueError("no syllable to write")
    bad = [ch for ch in text if not hangul.is_syllable(ord(ch))]
    if bad:
        raise ValueError(f"{bad[0]!r} (U+{ord(bad[0]):04X}) is not a Hangul syllable")
    if len(set(text)) != len(text):
        repeated = next(ch for ch in text if text.count(ch) > 1)
        raise ValueError(f"{repeated} is listed twice")
    capacity = page_capacity(paper)
    count = ceil(len(text) / capacity)
    if count > 99:
        raise ValueError(f"{len(text)} syllables need {count} pages; a sheet holds 99 at most")
    ident = sheet_id(paper, text)
    pages = tuple(
        Page(paper, n + 1, count, ident, page_boxes(paper, text[n * capacity : (n + 1) * capacity]))
        for n in range(count)
    )
    return Sheet(paper, pages, ident)


def encode_code(page: Page) -> str:
    """The QR code's text for ``page``: ``HG1.`` then paper, page, page count, sheet
    identifier, ``.`` and each syllable as three base-36 digits of its index from U+AC00
    (QR's alphanumeric mode: a 24-syllable page fits a version 4 code)."""
    body = "".join(
        "".join(_DIGITS[(hangul.syllable_index(ord(ch)) // 36**k) % 36] for k in (2, 1, 0))
        for ch in page.syllables
    )
    return (
        f"HG{SHEET_VERSION}.{PAPER_CODES[page.paper]}{page.number:02d}{page.pages:02d}"
        f"{page.sheet_id}.{body}"
    )


def code_matrix(text: str) -> list[list[bool]]:
    """The QR symbol of ``text`` as rows of dark (True) and light modules, quiet zone
    excluded: segno's, error correction M, the smallest version that holds the text (so
    the reader knows the module count from the text it decoded)."""
    import segno

    symbol = segno.make(text, error="m", micro=False, boost_error=False)
    return [[bool(module & 1) for module in row] for row in symbol.matrix]


class CodeError(ValueError):
    """A QR code that is not a readable hangulgan sheet code of this version."""


def decode_code(text: str) -> Page:
    """The page a code's text describes (boxes included); CodeError says why it cannot be:
    not a hangulgan sheet's code, another sheet version, or a damaged body."""
    match = _CODE.match(text)
    if match is None:
        raise CodeError("its QR code is not a hangulgan sheet's")
    version = int(match.group(1))
    if version != SHEET_VERSION:
        raise CodeError(
            f"a sheet of version {version}; this hangulgan reads version {SHEET_VERSION} "
            "(print a new one with `hangulgan template`)"
        )
    body = _BODY_V1.match(match.group(2))
    if body is None or len(body.group(5)) % 3:
        raise CodeError("its QR code is a damaged hangulgan sheet code")
    paper = next(name for name, code in PAPER_CODES.items() if code == body.group(1))
    number, pages = int(body.group(2)), int(body.group(3))
    digits = body.group(5)
    syllables = []
    for k in range(0, len(digits), 3):
        index = int(digits[k : k + 3], 36)
        if index >= hangul.N_SYLLABLES:
            raise CodeError("its QR code is a damaged hangulgan sheet code")
        syllables.append(chr(hangul.FIRST + index))
    text_syllables = "".join(syllables)
    if not (1 <= number <= pages) or not syllables or len(syllables) > page_capacity(paper):
        raise CodeError("its QR code is a damaged hangulgan sheet code")
    return Page(paper, number, pages, body.group(4), page_boxes(paper, text_syllables))
