"""Errors a user can cause. The CLI prints them as one line and exits non-zero."""


class HangulganError(Exception):
    """Base class: the message names the file and the problem, fit for one line."""


class FontError(HangulganError):
    """A font file cannot be opened or used."""


class GlyphSetError(HangulganError):
    """A glyph set folder is missing, malformed or of another version."""


class CorpusError(HangulganError):
    """A corpus folder is missing, malformed or of another version."""


class VectorError(HangulganError):
    """A glyph set cannot be traced, or a font cannot be built, written or checked."""


class ConfigError(HangulganError):
    """A training or sampling option is out of range or contradicts the run."""


class RunError(HangulganError):
    """A run folder is missing, holds another model, or would be overwritten."""


class CheckpointError(HangulganError):
    """A checkpoint file is missing, truncated, or does not fit the model."""


class LockedError(HangulganError):
    """Another process is writing to the same corpus or run folder."""


class DiskFullError(HangulganError):
    """An output could not be written because the disk (or the user's quota) is full.

    Raised by the atomic writers of :mod:`hangulgan.io`, so the earlier file is intact."""


class SetupError(HangulganError):
    """The installed libraries do not fit hangulgan (e.g. an untested freetype-py)."""


class AdaptationDiverged(HangulganError):
    """Fine-tuning to a user's references went non-finite or its loss ran away: its weights
    are unusable, and the caller draws with the weights it had."""
