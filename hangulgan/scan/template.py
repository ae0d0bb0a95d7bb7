"""Draw a handwriting sheet (:mod:`hangulgan.scan.layout`) as a vector PDF with reportlab,
its QR codes with segno, and a PNG preview of each page rasterised from that PDF by PDFium
(pypdfium2), so the preview shows exactly what prints.

The syllable printed beside each box needs a font with Hangul: the first TrueType Korean
font fontconfig lists (NanumGothic preferred), embedded as a subset; without one the PDF
names Adobe's HYGothic-Medium, which PDF viewers substitute.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hangulgan.io import atomic_path, write_json_atomic
from hangulgan.scan import ScanError
from hangulgan.scan.layout import (
    CORNERS,
    MARK_HOLE,
    MARK_SIZE,
    PAPERS,
    Page,
    Sheet,
    code_matrix,
)

PDF_CREATOR = "hangulgan template"  # the PDF's Creator: the mark --force looks for
PNG_SOFTWARE = "hangulgan"  # a PNG's Software text, as every PNG hangulgan draws carries
PREVIEW_DPI = 150
MM = 72 / 25.4  # PDF points per millimetre
# Grey levels (0 black .. 1 white). The reader counts as ink only what is darker than half
# the paper's brightness, so everything printed inside a box stays well above that.
BOX_GREY = 0.6
GUIDE_GREY = 0.8
LABEL_GREY = 0.55
CID_FONT = "HYGothic-Medium"
PREFERRED_FONTS = ("NanumGothic.ttf", "NanumBarunGothic.ttf", "UnDotum.ttf")


@dataclass(frozen=True)
class TemplateFiles:
    """What :func:`write_template` wrote."""

    pdf: Path
    previews: tuple[Path, ...]
    layout: Path
    label_font: str  # the font file the syllables are printed in, or the CID font's name


def output_paths(pdf: Path, pages: int) -> tuple[list[Path], Path]:
    """The PNG previews and the layout JSON written beside ``pdf``: ``STEM.png`` for one
    page, ``STEM-p1.png``, ``STEM-p2.png``… for more, and ``STEM.json``."""
    if pages == 1:
        previews = [pdf.with_suffix(".png")]
    else:
        previews = [pdf.with_name(f"{pdf.stem}-p{n}.png") for n in range(1, pages + 1)]
    return previews, pdf.with_suffix(".json")


def korean_truetype_font() -> Path | None:
    """A TrueType (glyf) font file with Hangul that reportlab can embed, from fontconfig;
    None when there is none (reportlab reads neither CFF outlines nor WOFF)."""
    if shutil.which("fc-list") is None:
        return None
    try:
        listed = subprocess.run(
            ["fc-list", ":lang=ko", "file"], capture_output=True, text=True, timeout=20
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    files = sorted({Path(line.split(":")[0].strip()) for line in listed.splitlines() if line})
    files = [f for f in files if f.suffix.lower() == ".ttf" and f.is_file()]
    for name in PREFERRED_FONTS:
        for path in files:
            if path.name == name:
                return path
    return files[0] if files else None


def _register_label_font() -> str:
    """Register the syllables' font with reportlab; return its name for setFont."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    path = korean_truetype_font()
    if path is not None:
        try:
            pdfmetrics.registerFont(TTFont("HangulganLabel", str(path)))
            return "HangulganLabel"
        except (TTFError, OSError):
            pass  # an unreadable font: the CID font below still prints
    pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    return CID_FONT


def _draw_code(canvas, page: Page, height: float) -> None:
    """The QR code of ``page`` as black module rectangles (runs of a row merged)."""
    matrix = code_matrix(page.code)
    modules = len(matrix)
    left, top, side = page.code_rect
    # the quiet zone (4 modules) lies inside the code's square, so the white around it is
    # guaranteed whatever is printed nearby
    step = side / (modules + 8)
    canvas.setFillGray(0)
    for r, row in enumerate(matrix):
        c = 0
        while c < modules:
            if row[c]:
                start = c
                while c < modules and row[c]:
                    c += 1
                x = left + (start + 4) * step
                y = top + (r + 4) * step
                canvas.rect(
                    x * MM, (height - y - step) * MM, (c - start) * step * MM, step * MM, 0, 1
                )
            else:
                c += 1


def _draw_page(canvas, page: Page, label_font: str) -> None:
    width, height = PAPERS[page.paper]

    def rect(x: float, y: float, w: float, h: float, fill: bool) -> None:
        canvas.rect(
            x * MM,
            (height - y - h) * MM,
            w * MM,
            h * MM,
            stroke=0 if fill else 1,
            fill=1 if fill else 0,
        )

    # registration marks; the top-left one has a white hole
    canvas.setFillGray(0)
    for corner, (cx, cy) in zip(CORNERS, page.marks, strict=True):
        rect(cx - MARK_SIZE / 2, cy - MARK_SIZE / 2, MARK_SIZE, MARK_SIZE, True)
        if corner == "top-left":
            canvas.setFillGray(1)
            rect(cx - MARK_HOLE / 2, cy - MARK_HOLE / 2, MARK_HOLE, MARK_HOLE, True)
            canvas.setFillGray(0)
    # title and instructions between the top marks
    text_x = page.marks[0][0] + MARK_SIZE / 2 + 5
    canvas.setFont("Helvetica-Bold", 10)
    canvas.drawString(
        text_x * MM,
        (height - 14.5) * MM,
        f"hangulgan handwriting sheet  -  page {page.number} of {page.pages}",
    )
    canvas.setFont("Helvetica", 7)
    canvas.setFillGray(0.35)
    canvas.drawString(
        text_x * MM,
        (height - 19.5) * MM,
        "Write each syllable inside its square with a black pen, sitting on the baseline. "
        "Keep the four corner marks and the code uncovered.",
    )
    canvas.drawString(
        text_x * MM,
        (height - 23.0) * MM,
        "Photograph or scan the whole page, then: hangulgan from-scan PAGE.jpg --out MyHand/",
    )
    # the boxes
    for box in page.boxes:
        canvas.setStrokeGray(BOX_GREY)
        canvas.setLineWidth(0.5)
        canvas.setDash()
        rect(box.x, box.y, box.size, box.size, False)
        left, top, side = box.em
        canvas.setStrokeGray(GUIDE_GREY)
        canvas.setLineWidth(0.35)
        canvas.setDash(2, 2)
        rect(left, top, side, side, False)
        canvas.setDash()
        canvas.line(
            left * MM,
            (height - box.baseline_y) * MM,
            (left + side) * MM,
            (height - box.baseline_y) * MM,
        )
        canvas.setFillGray(LABEL_GREY)
        canvas.setFont(label_font, 10)
        canvas.drawString(box.x * MM, (height - box.y + 1.8) * MM, box.syllable)
    # the code, and what it says for a person
    _draw_code(canvas, page, height)
    code_left, code_top, code_side = page.code_rect
    canvas.setFillGray(0.35)
    canvas.setFont("Helvetica", 7)
    canvas.drawString(
        (code_left + code_side + 3) * MM,
        (height - code_top - code_side / 2) * MM,
        f"sheet {page.sheet_id}, version 1, page {page.number}/{page.pages}",
    )
    canvas.setFillGray(0)


def draw_pdf(sheet: Sheet, path: Path) -> str:
    """Draw ``sheet`` as a PDF at ``path`` (one page per sheet page); return the label font."""
    from reportlab.pdfgen.canvas import Canvas

    width, height = PAPERS[sheet.paper]
    label_font = _register_label_font()
    canvas = Canvas(str(path), pagesize=(width * MM, height * MM), invariant=1)
    canvas.setCreator(PDF_CREATOR)
    canvas.setTitle(f"hangulgan handwriting sheet {sheet.sheet_id}")
    canvas.setSubject(sheet.syllables)
    for page in sheet.pages:
        _draw_page(canvas, page, label_font)
        canvas.showPage()
    canvas.save()
    return label_font


def rasterise(pdf: Path, dpi: float = PREVIEW_DPI):
    """The pages of ``pdf`` as greyscale PIL images at ``dpi``, drawn by PDFium."""
    import pypdfium2

    document = pypdfium2.PdfDocument(str(pdf))
    try:
        return [
            document[i].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
            for i in range(len(document))
        ]
    finally:
        document.close()


def made_by_template(path: Path) -> bool:
    """Whether ``path`` is a file :func:`write_template` wrote: a PDF whose Creator is
    :data:`PDF_CREATOR`, a PNG with hangulgan's Software text, or a ``sheet.json``
    (exactly its three keys)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".pdf":
            import pypdfium2

            document = pypdfium2.PdfDocument(str(path))
            try:
                return document.get_metadata_dict().get("Creator") == PDF_CREATOR
            finally:
                document.close()
        if suffix == ".png":
            from PIL import Image

            with Image.open(path) as image:
                return image.format == "PNG" and image.text.get("Software") == PNG_SOFTWARE
        if suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            return isinstance(data, dict) and set(data) == {"version", "paper_mm", "pages"}
    except Exception:  # noqa: BLE001 - any unreadable file is not ours
        return False
    return False


def check_outputs(pdf: Path, pages: int, force: bool) -> list[Path]:
    """Every path :func:`write_template` will write; ScanError when one exists and may not
    be replaced (without ``force``, or not a file the template wrote)."""
    previews, layout = output_paths(pdf, pages)
    paths = [pdf, *previews, layout]
    for path in paths:
        if not path.exists() and not path.is_symlink():
            continue
        if path.is_dir():
            raise ScanError(f"{path}: is a folder; name the PDF to write")
        if not force:
            raise ScanError(f"{path}: already exists (replace it with --force)")
        if path.is_symlink() or not made_by_template(path):
            raise ScanError(
                f"{path}: exists and is not a file `hangulgan template` wrote; --force "
                "replaces only those, so move it away or write elsewhere"
            )
    return paths


def write_template(sheet: Sheet, pdf: str | Path, force: bool = False) -> TemplateFiles:
    """Write ``sheet`` as ``pdf``, a PNG preview of each page and ``STEM.json`` beside it.

    Each file appears whole or not at all (written to a temporary, then renamed); with
    ``force`` only files a template wrote are replaced (:func:`made_by_template`)."""
    from PIL.PngImagePlugin import PngInfo

    pdf = Path(pdf)
    check_outputs(pdf, len(sheet.pages), force)
    previews, layout = output_paths(pdf, len(sheet.pages))
    try:
        pdf.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(pdf, suffix=".pdf") as tmp:
            label_font = draw_pdf(sheet, tmp)
            images = rasterise(tmp)
        info = PngInfo()
        info.add_text("Software", PNG_SOFTWARE)
        for image, path in zip(images, previews, strict=True):
            with atomic_path(path, suffix=".png") as tmp:
                image.save(tmp, format="PNG", pnginfo=info, dpi=(PREVIEW_DPI, PREVIEW_DPI))
        write_json_atomic(layout, sheet.to_json())
    except OSError as err:
        raise ScanError(f"{pdf}: cannot write the sheet ({err.strerror or err})") from None
    return TemplateFiles(pdf, tuple(previews), layout, label_font)
