"""hangulgan: a Korean font-synthesis toolkit.

Pipeline: fonts → ``data`` (render a corpus of glyph sets) → ``train`` (the one
shared trainer) with ``models`` → ``vector`` (trace and build a font), with
``eval`` measuring any glyph set and ``ocr`` turning glyph sets into labelled
OCR training images. The glyph set
(:class:`hangulgan.data.glyphset.GlyphSet`) is the one data type that flows between
stages; ``cli`` is the thin command line over them.
"""

__version__ = "0.1.0"
