"""The glyph set: the one data type that flows between stages.

A glyph set is an N×H×W uint8 array (0 = paper, 255 = ink) plus the N code points it
holds, in the same order. On disk it is a folder::

    glyphset.json     format, version, name, count, height, width, meta, augmentation
    images.npy        N×H×W uint8 (memory-mappable)
    codepoints.npy    N int32
    augmented.npy     optional K×N×H×W uint8: K augmented copies of every glyph
    augment_params.npy optional K×N×P float32: the parameters each copy was drawn with

A corpus face is exactly such a folder (``corpus/faces/NAME``); a model's output and
export's input are too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hangulgan.errors import GlyphSetError
from hangulgan.io import atomic_dir, read_format_json

GLYPHSET_FORMAT = "hangulgan.glyphset"
GLYPHSET_VERSION = 1
META_FILE = "glyphset.json"


@dataclass
class GlyphSet:
    """Glyph images and their code points; ``images[i]`` draws ``chr(codepoints[i])``."""

    images: np.ndarray
    codepoints: np.ndarray
    name: str = "glyphs"
    meta: dict[str, Any] = field(default_factory=dict)
    augmented: np.ndarray | None = None
    augment_params: np.ndarray | None = None
    augment_param_names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.codepoints = np.asarray(self.codepoints, dtype=np.int32)
        if self.images.ndim != 3 or self.images.dtype != np.uint8:
            raise GlyphSetError(
                f"{self.name}: images must be an N×H×W uint8 array, got "
                f"{self.images.dtype} {self.images.shape}"
            )
        if self.codepoints.shape != (len(self.images),):
            raise GlyphSetError(
                f"{self.name}: {len(self.images)} images but {self.codepoints.size} code points"
            )
        if len(np.unique(self.codepoints)) != len(self.codepoints):
            raise GlyphSetError(f"{self.name}: code points repeat")
        if self.augmented is not None and self.augmented.shape[1:] != self.images.shape:
            raise GlyphSetError(f"{self.name}: augmented copies do not match the images' shape")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of every image."""
        return int(self.images.shape[1]), int(self.images.shape[2])

    @property
    def text(self) -> str:
        """The characters of the set, in order."""
        return "".join(map(chr, self.codepoints.tolist()))

    def index_of(self, codepoint: int | str) -> int:
        """Position of a code point (or character) in the set; KeyError when absent."""
        cp = ord(codepoint) if isinstance(codepoint, str) else int(codepoint)
        hits = np.flatnonzero(self.codepoints == cp)
        if not hits.size:
            raise KeyError(f"U+{cp:04X} is not in glyph set {self.name}")
        return int(hits[0])

    def image(self, codepoint: int | str) -> np.ndarray:
        """The H×W image of one code point (or character)."""
        return self.images[self.index_of(codepoint)]

    def subset(self, codepoints: list[int] | np.ndarray) -> GlyphSet:
        """A new glyph set with those of ``codepoints`` that this set holds, in set order."""
        keep = np.isin(self.codepoints, np.asarray(codepoints, dtype=np.int32))
        return GlyphSet(
            images=np.ascontiguousarray(self.images[keep]),
            codepoints=self.codepoints[keep].copy(),
            name=self.name,
            meta=dict(self.meta),
            augmented=None if self.augmented is None else self.augmented[:, keep].copy(),
            augment_params=None
            if self.augment_params is None
            else self.augment_params[:, keep].copy(),
            augment_param_names=list(self.augment_param_names),
        )

    def header(self) -> dict[str, Any]:
        """The JSON description written as ``glyphset.json``."""
        height, width = self.size
        header: dict[str, Any] = {
            "format": GLYPHSET_FORMAT,
            "version": GLYPHSET_VERSION,
            "name": self.name,
            "count": len(self),
            "height": height,
            "width": width,
            "meta": self.meta,
        }
        if self.augmented is not None:
            header["augmentation"] = {
                "copies": int(self.augmented.shape[0]),
                "params": list(self.augment_param_names),
            }
        return header

    def save(self, folder: str | Path, overwrite: bool = False) -> Path:
        """Write the set to ``folder`` atomically: the folder appears only when whole."""
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise GlyphSetError(f"{folder}: exists and is not a folder")
        if folder.exists() and not overwrite:
            raise GlyphSetError(f"{folder}: already exists (overwrite it with --force)")
        try:
            with atomic_dir(folder, replace=overwrite) as tmp:
                np.save(tmp / "images.npy", np.ascontiguousarray(self.images))
                np.save(tmp / "codepoints.npy", self.codepoints)
                if self.augmented is not None:
                    np.save(tmp / "augmented.npy", np.ascontiguousarray(self.augmented))
                    if self.augment_params is not None:
                        np.save(tmp / "augment_params.npy", self.augment_params.astype(np.float32))
                (tmp / META_FILE).write_text(
                    json.dumps(self.header(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
                )
        except OSError as err:
            raise GlyphSetError(
                f"{folder}: cannot write glyph set ({err.strerror or err})"
            ) from err
        return folder

    @classmethod
    def load(cls, folder: str | Path, mmap: bool = True, augmented: bool = True) -> GlyphSet:
        """Read a glyph set folder; arrays are memory-mapped unless ``mmap`` is False."""
        folder = Path(folder)
        meta_path = folder / META_FILE
        if not folder.is_dir():
            raise GlyphSetError(f"{folder}: no such glyph set folder")
        if not meta_path.is_file():
            raise GlyphSetError(f"{folder}: not a glyph set (no {META_FILE})")
        header = read_format_json(
            meta_path,
            GLYPHSET_FORMAT,
            GLYPHSET_VERSION,
            GlyphSetError,
            "glyph set",
            "write it again",
        )
        mode = "r" if mmap else None
        images = _load_array(folder / "images.npy", mode)
        codepoints = np.asarray(_load_array(folder / "codepoints.npy", None), dtype=np.int32)
        expected = (header.get("count"), header.get("height"), header.get("width"))
        if tuple(images.shape) != expected:
            raise GlyphSetError(
                f"{folder / 'images.npy'}: shape {tuple(images.shape)}, header says {expected}"
            )
        aug = params = None
        names: list[str] = []
        if augmented and "augmentation" in header and (folder / "augmented.npy").is_file():
            aug = _load_array(folder / "augmented.npy", mode)
            names = list(header["augmentation"].get("params", []))
            if (folder / "augment_params.npy").is_file():
                params = _load_array(folder / "augment_params.npy", None)
        try:
            return cls(
                images=images,
                codepoints=codepoints,
                name=str(header.get("name", folder.name)),
                meta=dict(header.get("meta", {})),
                augmented=aug,
                augment_params=params,
                augment_param_names=names,
            )
        except GlyphSetError as err:
            raise GlyphSetError(f"{folder}: {err}") from None


def _load_array(path: Path, mmap_mode: str | None) -> np.ndarray:
    if not path.is_file():
        raise GlyphSetError(f"{path}: missing")
    try:
        return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise GlyphSetError(f"{path}: unreadable or truncated array ({err})") from None
