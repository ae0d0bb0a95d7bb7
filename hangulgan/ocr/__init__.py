"""OCR training data from glyph sets: ``hangulgan ocr-export`` (see :mod:`.export`)."""
