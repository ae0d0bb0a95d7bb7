"""Measuring what the models make: pixel metrics, glyph classifiers, Glyph-FID, OCR."""
