"""Legibility of a whole font by OCR: set a fixed Korean paragraph, read it with Tesseract.

The paragraph (:data:`PARAGRAPH`: pangrams and common words, six lines) is set with the
font by FreeType (through Pillow) at :data:`PIXEL_SIZE` px, black on white, and read by
Tesseract's Korean model (``tesseract -l kor --psm 6``; Debian's ``tesseract-ocr`` and
``tesseract-ocr-kor``). Character accuracy is ``1 − edit distance / length`` over the
syllables the font draws, whitespace ignored (Tesseract's Korean word spacing is not what
is measured). Syllables the font lacks are left out of both the image and the truth and
reported as coverage, so a partial font is not scored as misread.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hangulgan import hangul
from hangulgan.errors import FontError, HangulganError

PARAGRAPH = (
    "다람쥐 헌 쳇바퀴에 타고파",
    "키스의 고유조건은 입술끼리 만나야 하고",
    "특별한 기술은 필요치 않다",
    "동해 물과 백두산이 마르고 닳도록",
    "안녕하세요 감사합니다 대한민국 서울특별시",
    "한글은 세종대왕이 만든 우리의 글자입니다",
)
PIXEL_SIZE = 48
INSTALL_LINE = "sudo apt-get install tesseract-ocr tesseract-ocr-kor"


class TesseractError(HangulganError):
    """Tesseract or its Korean model is missing, or it failed."""


@dataclass
class OcrResult:
    """What Tesseract read of the paragraph set in one font."""

    font: str
    accuracy: float  # 1 − edit distance / length, over the syllables the font draws
    coverage: float  # share of the paragraph's syllables the font draws
    missing: str  # the paragraph's syllables the font lacks
    expected: str
    read: str
    edit_distance: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def tesseract_command() -> str:
    """Path of the tesseract program; TesseractError with the install line when missing."""
    path = shutil.which("tesseract")
    if path is None:
        raise TesseractError(f"tesseract not found on PATH; install it with: {INSTALL_LINE}")
    return path


def check_korean(program: str) -> None:
    """TesseractError when Tesseract has no Korean model."""
    try:
        listing = subprocess.run(
            [program, "--list-langs"], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError as err:
        raise TesseractError(f"{program}: cannot run ({err}); install: {INSTALL_LINE}") from None
    langs = {line.strip() for line in (listing.stdout + listing.stderr).splitlines()}
    if "kor" not in langs:
        raise TesseractError(f"{program}: no Korean model (kor); install it with: {INSTALL_LINE}")


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two strings (insertions, deletions, substitutions)."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]


def font_coverage(path: str | Path, face_index: int = 0) -> set[int]:
    """The paragraph's syllables the font draws: mapped in its cmap to an outline with
    points (a mapped but empty glyph would set a blank)."""
    import freetype

    try:
        face = freetype.Face(str(path), face_index)
    except (freetype.FT_Exception, OSError) as err:
        raise FontError(f"{path}: FreeType cannot open it ({err})") from None
    wanted = {ord(c) for line in PARAGRAPH for c in line if hangul.is_syllable(ord(c))}
    drawn = set()
    for cp in wanted:
        index = face.get_char_index(cp)
        if not index:
            continue
        face.load_glyph(index, freetype.FT_LOAD_NO_SCALE)
        if face.glyph.outline.n_points > 0:
            drawn.add(cp)
    return drawn


def set_paragraph(path: str | Path, lines: list[str], out: Path, face_index: int = 0) -> None:
    """Draw ``lines`` with the font, black on white, one line under another."""
    from PIL import Image, ImageDraw, ImageFont

    try:
        font = ImageFont.truetype(str(path), PIXEL_SIZE, index=face_index)
    except OSError as err:
        raise FontError(f"{path}: Pillow cannot open it ({err})") from None
    line_height = int(PIXEL_SIZE * 1.6)
    widths = [font.getlength(line) for line in lines] or [0]
    width = int(max(widths)) + 2 * PIXEL_SIZE
    height = line_height * len(lines) + 2 * PIXEL_SIZE
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(lines):
        draw.text((PIXEL_SIZE, PIXEL_SIZE + row * line_height), line, font=font, fill=0)
    image.save(out)


def ocr_image(image: Path, program: str | None = None) -> str:
    """Tesseract's reading of an image (Korean, one block of text)."""
    program = program or tesseract_command()
    check_korean(program)
    try:
        done = subprocess.run(
            [program, str(image), "stdout", "-l", "kor", "--psm", "6"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except OSError as err:
        raise TesseractError(f"{program}: cannot run ({err})") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise TesseractError(f"tesseract failed on {image} ({last})")
    return done.stdout


def _letters(text: str) -> str:
    return "".join(text.split())


def ocr_font(path: str | Path, face_index: int = 0) -> OcrResult:
    """Set :data:`PARAGRAPH` in the font at ``path`` and read it back with Tesseract."""
    path = Path(path)
    if not path.is_file():
        raise FontError(f"{path}: no such font file")
    program = tesseract_command()
    check_korean(program)
    covered = font_coverage(path, face_index)
    if not covered:
        raise FontError(f"{path}: draws none of the test paragraph's syllables")
    lines, missing = [], []
    for line in PARAGRAPH:
        kept = []
        for char in line:
            if hangul.is_syllable(ord(char)) and ord(char) not in covered:
                missing.append(char)
            else:
                kept.append(char)
        lines.append("".join(kept))
    expected = _letters("".join(lines))
    with tempfile.TemporaryDirectory(prefix="hangulgan-ocr-") as tmp:
        image = Path(tmp) / "paragraph.png"
        set_paragraph(path, lines, image, face_index)
        read = _letters(ocr_image(image, program))
    distance = edit_distance(read, expected)
    total = sum(1 for line in PARAGRAPH for c in line if hangul.is_syllable(ord(c)))
    return OcrResult(
        font=str(path),
        accuracy=max(0.0, 1.0 - distance / len(expected)),
        coverage=1 - len(missing) / total,
        missing="".join(dict.fromkeys(missing)),
        expected=expected,
        read=read,
        edit_distance=distance,
    )
