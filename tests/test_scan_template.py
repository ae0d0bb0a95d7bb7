"""hangulgan template: the sheet's layout, its code, the vector PDF, the preview and
sheet.json, and what --force may replace."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hangulgan.scan import layout
from hangulgan.scan.layout import (
    BOX,
    EM,
    MARK_INSET,
    MARK_SIZE,
    CodeError,
    decode_code,
    make_sheet,
    page_capacity,
)

from conftest import NANUM, debian_font, run_cli


def test_default_syllables_are_the_24_generate_renders_from_a_font(tmp_path):
    from hangulgan.models.styled_inference import default_references
    from hangulgan.models.styled_references import references_from_font

    code, text = run_cli("template", "--out", tmp_path / "sheet.pdf")
    assert code == 0, text
    sheet = json.loads((tmp_path / "sheet.json").read_text(encoding="utf-8"))
    asked = "".join(box["syllable"] for box in sheet["pages"][0]["boxes"])
    font = debian_font(NANUM / "NanumGothic.ttf")  # draws every syllable of the list
    _, cps, _ = references_from_font(font, default_references(), 24, (32, 32))
    assert asked == "".join(map(chr, cps))


def test_sheet_json_is_the_issue_s_format(tmp_path):
    code, text = run_cli("template", "--out", tmp_path / "sheet.pdf")
    assert code == 0, text
    sheet = json.loads((tmp_path / "sheet.json").read_text(encoding="utf-8"))
    assert set(sheet) == {"version", "paper_mm", "pages"}
    assert sheet["version"] == 1 and sheet["paper_mm"] == [210, 297]
    boxes = sheet["pages"][0]["boxes"]
    assert len(boxes) == 24
    for box in boxes:
        assert set(box) == {"syllable", "x_mm", "y_mm", "size_mm"}
        assert box["size_mm"] >= 15
        # clear of the marks and inside the paper
        assert MARK_INSET + MARK_SIZE < box["x_mm"] and box["x_mm"] + box["size_mm"] < 210
        assert MARK_INSET + MARK_SIZE < box["y_mm"] < 297 - MARK_INSET - MARK_SIZE
    # no two boxes overlap, labels included (7 mm above each)
    for a in boxes:
        for b in boxes:
            if a is not b:
                apart_x = abs(a["x_mm"] - b["x_mm"]) >= BOX
                apart_y = abs(a["y_mm"] - b["y_mm"]) >= BOX + layout.LABEL_BAND
                assert apart_x or apart_y


def test_code_round_trip_and_refusals():
    sheet = make_sheet("다헌쳇입술특꽃봤", "letter")
    page = sheet.pages[0]
    assert decode_code(page.code) == page
    other_version = page.code.replace("HG1.", "HG2.", 1)
    with pytest.raises(CodeError, match="version 2"):
        decode_code(other_version)
    with pytest.raises(CodeError, match="not a hangulgan sheet"):
        decode_code("https://example.org/")
    with pytest.raises(CodeError, match="damaged"):
        decode_code(page.code[:-1])


def test_make_sheet_refuses_what_cannot_be_written():
    with pytest.raises(ValueError, match="not a Hangul syllable"):
        make_sheet("가A")
    with pytest.raises(ValueError, match="twice"):
        make_sheet("가나가")
    with pytest.raises(ValueError, match="paper"):
        make_sheet("가", "a5")


def test_pdf_is_vector_and_its_code_reads_back(tmp_path):
    import pypdfium2
    import pypdfium2.raw as pdfium_c
    import zxingcpp
    from PIL import Image

    code, text = run_cli("template", "--out", tmp_path / "sheet.pdf", "--paper", "letter")
    assert code == 0, text
    document = pypdfium2.PdfDocument(str(tmp_path / "sheet.pdf"))
    try:
        page = document[0]
        width, height = page.get_size()
        assert (round(width / 72 * 25.4, 1), round(height / 72 * 25.4, 1)) == (215.9, 279.4)
        kinds = {obj.type for obj in page.get_objects()}
        assert pdfium_c.FPDF_PAGEOBJ_PATH in kinds and pdfium_c.FPDF_PAGEOBJ_TEXT in kinds
        assert pdfium_c.FPDF_PAGEOBJ_IMAGE not in kinds  # drawn, not a raster
    finally:
        document.close()
    with Image.open(tmp_path / "sheet.png") as preview:
        assert preview.info.get("dpi", (0,))[0] == pytest.approx(150, abs=1)
        found = zxingcpp.read_barcodes(np.asarray(preview.convert("L")))
    sheet = make_sheet(json_syllables(tmp_path / "sheet.json"), "letter")
    assert [b.text for b in found] == [sheet.pages[0].code]


def json_syllables(path: Path) -> str:
    sheet = json.loads(path.read_text(encoding="utf-8"))
    return "".join(b["syllable"] for page in sheet["pages"] for b in page["boxes"])


def test_guides_are_faint_and_the_syllable_sits_outside_the_box(tmp_path):
    from PIL import Image

    run_cli("template", "--out", tmp_path / "sheet.pdf")
    box = make_sheet(json_syllables(tmp_path / "sheet.json")).pages[0].boxes[0]
    with Image.open(tmp_path / "sheet.png") as opened:
        page = np.asarray(opened, dtype=np.float32) / 255
    per_mm = page.shape[1] / 210

    def area(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        return page[int(y0 * per_mm) : int(y1 * per_mm), int(x0 * per_mm) : int(x1 * per_mm)]

    inside = area(box.x + 0.5, box.y + 0.5, box.x + BOX - 0.5, box.y + BOX - 0.5)
    assert inside.min() > 0.55  # nothing printed in the box is as dark as ink
    assert (inside < 0.95).mean() < 0.1  # the guides are thin lines
    left, top, side = box.em
    assert side == EM
    # the baseline guide, 0.8 em below the em top
    row = area(left + 2, box.baseline_y - 0.3, left + side - 2, box.baseline_y + 0.3)
    assert row.min() < 0.95
    label = area(box.x, box.y - layout.LABEL_BAND, box.x + 6, box.y - 0.5)
    assert label.min() < 0.7  # the syllable printed light above the box


def test_several_pages_and_a_syllable_file(tmp_path):
    code, text = run_cli("template", "--out", tmp_path / "big.pdf", "--references", "64")
    assert code == 0, text
    assert (tmp_path / "big-p1.png").is_file() and (tmp_path / "big-p2.png").is_file()
    sheet = json.loads((tmp_path / "big.json").read_text(encoding="utf-8"))
    assert [len(p["boxes"]) for p in sheet["pages"]] == [page_capacity("a4"), 64 - 42]
    wanted = tmp_path / "mine.txt"
    wanted.write_text("한글 글꼴, 안녕!\n", encoding="utf-8")
    code, text = run_cli("template", "--out", tmp_path / "mine.pdf", "--syllables", wanted)
    assert code == 0, text
    assert "left out: !," in text
    assert json_syllables(tmp_path / "mine.json") == "한글꼴안녕"
    code, text = run_cli(
        "template", "--out", tmp_path / "x.pdf", "--syllables", wanted, "--references", "8"
    )
    assert code == 2


def test_force_replaces_only_what_template_wrote(tmp_path):
    out = tmp_path / "sheet.pdf"
    assert run_cli("template", "--out", out)[0] == 0
    code, text = run_cli("template", "--out", out)
    assert code == 2 and "already exists" in text
    assert run_cli("template", "--out", out, "--force", "--references", "8")[0] == 0
    assert len(json.loads(out.with_suffix(".json").read_text())["pages"][0]["boxes"]) == 8
    mine = tmp_path / "sheet.png"
    mine.write_bytes(b"my own picture")
    code, text = run_cli("template", "--out", out, "--force")
    assert code == 2 and "sheet.png" in text and "not a file" in text
    assert mine.read_bytes() == b"my own picture"
