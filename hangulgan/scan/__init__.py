"""Handwriting sheets: print a template, photograph it filled in, read it back as a glyph set.

``layout`` is the sheet's geometry and its machine-readable code (pure Python),
``template`` draws it as a vector PDF with a PNG preview, ``locate`` finds a photographed
page (its code and its registration marks), ``read`` rectifies, cleans and cuts out the
written boxes, ``preview`` draws the contact sheet, and ``font`` goes on from the written
glyphs to an installed font. Nothing is imported here, so ``hangulgan --help`` stays light.
"""

from __future__ import annotations

from hangulgan.errors import HangulganError


class ScanError(HangulganError):
    """A sheet or a photo of one cannot be read: the message names the file and the problem."""
