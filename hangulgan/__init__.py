"""hangulgan: a Korean font-synthesis toolkit.

Pipeline: fonts → ``data`` (render a corpus of glyph sets) → ``train`` (the one
shared trainer) with ``models`` / ``translate`` → ``vector`` (trace and build a
font) → ``eval``. The glyph set (:class:`hangulgan.data.glyphset.GlyphSet`) is
the one data type that flows between stages.
"""

__version__ = "0.1.0"
