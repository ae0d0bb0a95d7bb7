"""The training data: a corpus selection as a :class:`~hangulgan.data.dataset.GlyphDataset`.

This is the default ``Model.make_dataset``; the trainer reads any dataset through the
:class:`~hangulgan.train.contract.TrainingData` protocol. Glyphs already in memory go
through ``GlyphDataset.from_glyphsets``.
"""

from __future__ import annotations

from hangulgan import hangul
from hangulgan.errors import ConfigError, CorpusError
from hangulgan.train.options import DataConfig


def open_dataset(data: DataConfig):  # -> hangulgan.data.dataset.GlyphDataset
    """The glyphs of a corpus that ``data`` selects (faces, charset, augmented copies).

    Raises CorpusError for a missing corpus, an unknown face or a selection with no glyph,
    ConfigError for a charset that is neither a name nor a readable file.
    """
    from hangulgan.data.dataset import GlyphDataset

    if not data.corpus:
        raise ConfigError("no corpus given (--corpus FOLDER, made by `hangulgan render`)")
    try:
        charset = (
            None if data.charset in (None, "", "all") else hangul.resolve_charset(data.charset)
        )
    except ValueError as err:
        raise ConfigError(f"--charset {err}") from None
    dataset = GlyphDataset(data.corpus, faces=data.faces, charset=charset, augmented=data.augmented)
    if len(dataset) == 0:
        raise CorpusError(f"{data.corpus}: the chosen faces and charset select no glyph")
    return dataset
