"""Vector stage: glyph bitmaps traced by potrace (``trace``), built into TrueType or CFF
fonts with fontTools (``fontbuild``), checked as browsers and fontconfig will (``check``),
and shown in specimens (``specimen``)."""
