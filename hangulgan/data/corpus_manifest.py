"""What a corpus writer records: the settings every face of a corpus shares, and the
manifest that lists its faces, rewritten atomically after every face.

The manifest is written only while holding :func:`hangulgan.io.folder_lock` on the
corpus (one writer at a time), which is also when the temporaries a killed writer left
behind are cleaned.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hangulgan import hangul
from hangulgan.data.augment import AugmentConfig
from hangulgan.data.corpus import CORPUS_FORMAT, CORPUS_VERSION, FACE_MARK, FACES_DIR, MANIFEST
from hangulgan.data.placement import RULES as GEOMETRY_RULES
from hangulgan.data.render import PLACEMENTS
from hangulgan.errors import CorpusError
from hangulgan.io import disk_full_as_error, made_by, remove_stale_temporaries, write_json_atomic


@dataclass
class RenderSettings:
    """What every face of a corpus shares; a corpus is rendered with one set of these."""

    size: int = 32
    placement: str = "em"
    charset_name: str = "all"
    charset: list[int] = field(default_factory=hangul.all_syllables)
    augment_copies: int = 0
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    seed: int = 0

    def validate(self) -> None:
        """Raise CorpusError for values out of range."""
        if self.size < 8 or self.size > 1024:
            raise CorpusError(f"--size {self.size}: choose 8..1024 pixels")
        if self.placement not in PLACEMENTS:
            raise CorpusError(
                f"--placement {self.placement}: choose one of {', '.join(PLACEMENTS)}"
            )
        if self.augment_copies < 0:
            raise CorpusError(f"--augment {self.augment_copies}: must be 0 or more")
        if not self.charset:
            raise CorpusError("the charset holds no syllable")

    def disk_bytes(self, glyphs: int) -> int:
        """Bytes that ``glyphs`` rendered glyphs take on disk: the clean image, each
        augmented copy, and each copy's float32 parameters."""
        from hangulgan.data.augment import PARAM_NAMES

        images = glyphs * (1 + self.augment_copies) * self.size * self.size
        return images + glyphs * self.augment_copies * len(PARAM_NAMES) * 4

    def key(self) -> dict[str, Any]:
        """The settings a resumed render must match, in the shape JSON gives them back
        (lists, not tuples), so a manifest read from disk compares equal."""
        return _json_shaped(
            {
                "size": self.size,
                "placement": self.placement,
                # the rule every face's geometry follows (see data.placement): corpora
                # rendered before it was recorded, or under another rule, never mix with it
                "geometry": GEOMETRY_RULES[self.placement],
                "charset": {"name": self.charset_name, "count": len(self.charset)},
                "augment": {
                    "copies": self.augment_copies,
                    "seed": self.seed,
                    "config": self.augment.to_dict() if self.augment_copies else None,
                },
            }
        )


def _json_shaped(value: Any) -> Any:
    return json.loads(json.dumps(value))


def empty_manifest(settings: RenderSettings) -> dict[str, Any]:
    return {"format": CORPUS_FORMAT, "version": CORPUS_VERSION, **settings.key(), "faces": {}}


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Rewrite a corpus manifest atomically: on failure the last whole one stays, and the
    error is one line (DiskFullError for a full disk)."""
    path = folder / MANIFEST
    try:
        with disk_full_as_error(path):
            write_json_atomic(path, manifest)
    except OSError as err:
        raise CorpusError(
            f"{path}: cannot write the manifest ({err.strerror or err}); the corpus keeps "
            "its last whole state"
        ) from None


def clean_stale_temporaries(folder: str | Path) -> list[Path]:
    """Remove the temporaries killed writers left in a corpus folder and its ``faces``
    folder (only names :func:`hangulgan.io.temp_path` gave, of processes that are gone);
    return what was removed. Call it while holding the corpus's lock."""
    folder = Path(folder)
    return remove_stale_temporaries(folder) + remove_stale_temporaries(folder / FACES_DIR)


def face_folder_is_ours(folder: Path, listed: Iterable[str]) -> bool:
    """Whether a writer may replace or remove the face folder ``folder``: it is absent, or
    the manifest lists it (``listed``: the face names of the manifest on disk), or it
    carries the mark of a rendered face (:data:`FACE_MARK`)."""
    if not folder.exists() and not folder.is_symlink():
        return True
    return folder.name in set(listed) or made_by(folder, FACE_MARK)


def not_ours_error(folder: Path) -> CorpusError:
    """The error for a face folder the corpus did not make (see :func:`face_folder_is_ours`)."""
    return CorpusError(
        f"{folder}: exists, and the corpus neither lists it nor marks it as a face it "
        "rendered; it is left as it is: move it away, or write the corpus to another folder"
    )


def check_settings(manifest: dict[str, Any], settings: RenderSettings, folder: Path) -> None:
    key = settings.key()
    for name in ("size", "placement", "geometry", "charset", "augment"):
        if manifest.get(name) != key[name]:
            raise CorpusError(
                f"{folder}: rendered with {name}={json.dumps(manifest.get(name))}, asked "
                f"{json.dumps(key[name])}; use a new folder, or --force to render it anew"
            )
