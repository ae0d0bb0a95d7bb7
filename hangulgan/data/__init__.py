"""Data stage: font discovery, rendering, augmentation, and the glyph-set / corpus formats."""
