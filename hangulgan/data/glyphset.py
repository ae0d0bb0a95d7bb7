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

What a glyph set may hold (checked when one is built or loaded, with the file named):

* images: uint8, N×H×W, each side 1 to :data:`MAX_GLYPH_SIDE` pixels;
* code points: integers, one per image, none repeated, each a character a font can map
  (U+0021..U+10FFFF without controls, surrogates and noncharacters). Hangul is what
  the corpus and the models hold, but a glyph set may carry other characters (Latin,
  punctuation): ``export-ttf`` maps them as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hangulgan.errors import GlyphSetError
from hangulgan.io import atomic_dir, read_folder_header

GLYPHSET_FORMAT = "hangulgan.glyphset"
GLYPHSET_VERSION = 1
META_FILE = "glyphset.json"

# Largest image side. Tracing upscales 4×: a 1024² glyph peaks at ~180 MiB per export
# worker, a 4096² one at 4.9 GB, and an 8192² one runs out of memory.
MAX_GLYPH_SIDE = 1024


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
        validate_images(self.images, f"{self.name}: images")
        self.codepoints = validate_codepoints(
            self.codepoints, len(self.images), f"{self.name}: code points"
        )
        validate_augmentation(
            self.augmented,
            self.augment_params,
            self.augment_param_names,
            self.images.shape,
            f"{self.name}: augmented copies",
        )

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

    def save(self, folder: str | Path, overwrite: bool = False, mark: str | None = None) -> Path:
        """Write the set to ``folder`` atomically: the folder appears only when whole. With
        ``mark`` it carries that maker's mark (:func:`hangulgan.io.mark_made`), so the
        command that made it can tell it from a folder of the user's."""
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise GlyphSetError(f"{folder}: exists and is not a folder")
        if folder.exists() and not overwrite:
            raise GlyphSetError(f"{folder}: already exists (overwrite it with --force)")
        try:
            with atomic_dir(folder, replace=overwrite, mark=mark) as tmp:
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
        header = read_folder_header(
            folder,
            META_FILE,
            GLYPHSET_FORMAT,
            GLYPHSET_VERSION,
            GlyphSetError,
            "glyph set",
            "glyph set",
            hint="write it again",
        )
        validate_header(header, meta_path)
        mode = "r" if mmap else None
        images_path = folder / "images.npy"
        images = validate_images(_load_array(images_path, mode), str(images_path))
        expected = (header["count"], header["height"], header["width"])
        if tuple(images.shape) != expected:
            raise GlyphSetError(
                f"{images_path}: shape {tuple(images.shape)}, {META_FILE} says {expected}"
            )
        codepoints_path = folder / "codepoints.npy"
        codepoints = validate_codepoints(
            _load_array(codepoints_path, None), len(images), str(codepoints_path)
        )
        aug = params = None
        names: list[str] = []
        if augmented and "augmentation" in header and (folder / "augmented.npy").is_file():
            aug = _load_array(folder / "augmented.npy", mode)
            names = list(header["augmentation"].get("params", []))
            if (folder / "augment_params.npy").is_file():
                params = _load_array(folder / "augment_params.npy", None)
            validate_augmentation(aug, params, names, images.shape, str(folder / "augmented.npy"))
        try:
            return cls(
                images=images,
                codepoints=codepoints,
                name=header.get("name", folder.name),
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


# ----------------------------------------------------------------------------- validation


def validate_images(images: Any, where: str) -> np.ndarray:
    """``images`` if it is an N×H×W uint8 array with sides of 1..MAX_GLYPH_SIDE pixels;
    else :class:`GlyphSetError` naming ``where`` (a file or a glyph set)."""
    if not isinstance(images, np.ndarray):
        raise GlyphSetError(f"{where}: not an array but {type(images).__name__}")
    if images.dtype != np.uint8:
        raise GlyphSetError(f"{where}: dtype {images.dtype}, a glyph set holds uint8 images")
    if images.ndim != 3:
        raise GlyphSetError(f"{where}: shape {images.shape}, a glyph set holds N×H×W images")
    height, width = images.shape[1:]
    if not (1 <= height <= MAX_GLYPH_SIDE and 1 <= width <= MAX_GLYPH_SIDE):
        raise GlyphSetError(
            f"{where}: {height}×{width} images; the glyph size limit is "
            f"{MAX_GLYPH_SIDE}×{MAX_GLYPH_SIDE}"
        )
    return images


def _is_noncharacter(cps: np.ndarray) -> np.ndarray:
    return ((cps >= 0xFDD0) & (cps <= 0xFDEF)) | ((cps & 0xFFFE) == 0xFFFE)


def validate_codepoints(codepoints: Any, count: int, where: str) -> np.ndarray:
    """``codepoints`` as an int32 array when they are ``count`` distinct integers, each a
    character a font can map; else :class:`GlyphSetError` naming ``where`` and the first
    offending value. Checked before the cast, so ``C + 2**32`` cannot wrap to ``C``."""
    values = np.asarray(codepoints)
    if values.dtype == bool or not np.issubdtype(values.dtype, np.integer):
        if values.size == 0 and values.dtype == np.float64:  # np.asarray([]) is float
            values = values.astype(np.int64)
        else:
            raise GlyphSetError(f"{where}: dtype {values.dtype}, code points are integers")
    if values.shape != (count,):
        raise GlyphSetError(f"{where}: shape {values.shape}, expected one per image ({count})")
    if values.size and (values.min() < 0 or values.max() > 0x10FFFF):
        bad = values[(values < 0) | (values > 0x10FFFF)][0]
        raise GlyphSetError(f"{where}: {int(bad)} is not a Unicode code point")
    cps = values.astype(np.int32)
    unmappable = (
        (cps <= 0x20)
        | ((cps >= 0x7F) & (cps <= 0x9F))  # controls
        | ((cps >= 0xD800) & (cps <= 0xDFFF))  # surrogates
        | _is_noncharacter(cps)
    )
    if unmappable.any():
        bad = int(cps[unmappable][0])
        raise GlyphSetError(f"{where}: U+{bad:04X} is not a character a font can map")
    unique, counts = np.unique(cps, return_counts=True)
    if unique.size != cps.size:
        repeated = int(unique[counts > 1][0])
        raise GlyphSetError(
            f"{where}: U+{repeated:04X} {chr(repeated)} appears "
            f"{int(counts[counts > 1][0])} times; each code point may appear once"
        )
    return cps


def validate_augmentation(
    augmented: np.ndarray | None,
    params: np.ndarray | None,
    param_names: list[str],
    image_shape: tuple[int, ...],
    where: str,
) -> None:
    """Augmented copies are K×N×H×W uint8 like the images; their parameters K×N×P with one
    column per name. :class:`GlyphSetError` naming ``where`` otherwise."""
    if augmented is None:
        return
    if not isinstance(augmented, np.ndarray) or augmented.dtype != np.uint8:
        raise GlyphSetError(f"{where}: augmented copies must be a uint8 array")
    if augmented.ndim != 4 or augmented.shape[1:] != tuple(image_shape):
        raise GlyphSetError(
            f"{where}: shape {augmented.shape}, expected K×{'×'.join(map(str, image_shape))}"
        )
    if params is not None and (
        params.ndim != 3
        or params.shape[:2] != augmented.shape[:2]
        or (param_names and params.shape[2] != len(param_names))
    ):
        raise GlyphSetError(
            f"{where}: augmentation parameters of shape {params.shape} do not match "
            f"{augmented.shape[0]} copies of {augmented.shape[1]} glyphs"
            + (f" with {len(param_names)} parameters" if param_names else "")
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_header(header: dict[str, Any], path: Path) -> None:
    """Check the types of a ``glyphset.json`` (format and version already checked):
    :class:`GlyphSetError` naming ``path`` and the field otherwise."""
    for key in ("count", "height", "width"):
        if not _is_int(header.get(key)) or header[key] < 0:
            raise GlyphSetError(
                f"{path}: {key!r} must be a non-negative integer, got {header.get(key)!r}"
            )
    if "name" in header and not isinstance(header["name"], str):
        raise GlyphSetError(f"{path}: 'name' must be a string, got {header['name']!r}")
    if not isinstance(header.get("meta", {}), dict):
        raise GlyphSetError(f"{path}: 'meta' must be an object, got {header['meta']!r}")
    augmentation = header.get("augmentation")
    if augmentation is not None:
        if not isinstance(augmentation, dict):
            raise GlyphSetError(f"{path}: 'augmentation' must be an object")
        copies, names = augmentation.get("copies"), augmentation.get("params", [])
        if not _is_int(copies) or copies < 0:
            raise GlyphSetError(f"{path}: augmentation 'copies' must be a non-negative integer")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise GlyphSetError(f"{path}: augmentation 'params' must be a list of names")
