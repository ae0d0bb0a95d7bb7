"""freetype-py's private structures are checked once at start-up: a mismatch is one
clear error, not a crash in the renderer."""

from __future__ import annotations

import ctypes
import subprocess
import sys
from pathlib import Path

import pytest
from freetype.ft_structs import FT_FaceRec, FT_GlyphSlotRec

from hangulgan.data.ftlayout import check_layout
from hangulgan.errors import SetupError

ROOT = Path(__file__).resolve().parents[1]


def shifted(base: type) -> type:
    """``base`` with one extra field in front: every field read 8 bytes off."""
    return type(
        f"Shifted{base.__name__}",
        (ctypes.Structure,),
        {"_fields_": [("inserted", ctypes.c_long), *base._fields_]},
    )


def test_the_installed_freetype_py_fits():
    check_layout()


def test_a_shifted_face_record_is_caught_before_any_pointer_is_followed():
    with pytest.raises(SetupError, match=r"FT_FaceRec\.num_faces reads 0, expected 1"):
        check_layout(face_type=shifted(FT_FaceRec))


def test_a_shifted_glyph_slot_is_caught():
    with pytest.raises(SetupError, match=r"^freetype-py 2\.\d.*FT_GlyphSlotRec\.face reads"):
        check_layout(slot_type=shifted(FT_GlyphSlotRec))


def test_the_cli_reports_a_mismatch_in_one_line(tmp_path):
    # A freetype-py whose FT_FaceRec is laid out differently, seen through `render`.
    script = (
        "import ctypes, freetype.ft_structs as s\n"
        "class F(ctypes.Structure):\n"
        "    _fields_ = [('inserted', ctypes.c_long), *s.FT_FaceRec._fields_]\n"
        "import hangulgan.data.ftlayout as layout\n"
        "original = layout.check_layout\n"
        "layout.check_layout = lambda: original(face_type=F)\n"
        "from hangulgan.cli import main\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, "render", str(tmp_path), str(tmp_path / "c")],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: freetype-py "), result.stderr
    assert "not laid out as hangulgan expects" in lines[0]
