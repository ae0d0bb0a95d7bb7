"""Reference glyphs for the few-shot generator, from a font or from drawings in a folder.

Both give uint8 K×H×W glyphs in the generator's geometry and their code points, ready
for :meth:`hangulgan.models.styled_inference.StyledGenerator.style_from_images`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hangulgan import hangul
from hangulgan.errors import ConfigError
from hangulgan.models.styled_split import greedy_reference_cover

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def references_from_font(
    path: str | Path,
    wanted: Sequence[int],
    count: int,
    size: tuple[int, int],
    placement: str = "em",
    face_index: int = 0,
) -> tuple[np.ndarray, list[int], dict[str, Any]]:
    """Render ``count`` reference syllables from a font, rendered as the corpus renders.

    Takes the syllables of ``wanted`` the font draws, in order, then (when it lacks some)
    further syllables of the greedy jamo cover and of KS X 1001 it draws; ConfigError when
    the font draws fewer than ``count`` Hangul syllables. The third value is the font's
    placement meta (where its pixels lie), for the glyph set drawn in its style.
    """
    from hangulgan.data.render import FaceRenderer

    renderer = FaceRenderer(str(path), face_index, size[0], placement)
    order = list(dict.fromkeys(list(wanted) + [ord(c) for c in greedy_reference_cover(64)]))
    order += [cp for cp in hangul.ksx1001_syllables() if cp not in set(order)]
    images, cps = [], []
    for begin in range(0, len(order), 256):
        result = renderer.render(order[begin : begin + 256])
        drawn = dict(zip(result.codepoints.tolist(), result.images, strict=True))
        for cp in order[begin : begin + 256]:
            if cp in drawn and len(cps) < count:
                images.append(drawn[cp])
                cps.append(cp)
        if len(cps) >= count:
            break
    if len(cps) < count:
        raise ConfigError(
            f"{path}: draws only {len(cps)} of the Hangul syllables tried, {count} references asked"
        )
    placement = {"placement": placement}
    if renderer.geometry is not None:
        placement["geometry"] = renderer.geometry.to_meta()
    return np.stack(images), cps, placement


def _syllable_from_name(stem: str) -> int | None:
    if len(stem) == 1 and hangul.is_syllable(ord(stem)):
        return ord(stem)
    upper = stem.upper()
    if upper.startswith("U+") or upper.startswith("U"):
        digits = upper[2:] if upper.startswith("U+") else upper[1:]
        try:
            cp = int(digits, 16)
        except ValueError:
            return None
        return cp if hangul.is_syllable(cp) else None
    return None


def references_from_folder(
    folder: str | Path, size: tuple[int, int]
) -> tuple[np.ndarray, list[int], list[str]]:
    """Reference drawings from image files named by syllable (``가.png`` or ``U+AC00.png``).

    Each image is converted as needed (to grayscale; dark ink on a light ground inverted to
    the glyph convention; resized to ``size``) and every conversion is reported in the
    returned notes. ConfigError for a file name that is not a syllable, an unreadable image
    or a folder without images.
    """
    from PIL import Image, UnidentifiedImageError

    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ConfigError(f"{folder}: holds no reference image (.png, .jpg, …)")
    images, cps, notes = [], [], []
    for path in files:
        cp = _syllable_from_name(path.stem)
        if cp is None:
            raise ConfigError(
                f"{path}: the file name is not a Hangul syllable (name it 가.png or U+AC00.png)"
            )
        if cp in cps:
            raise ConfigError(f"{path}: a second reference for {chr(cp)}")
        try:
            with Image.open(path) as opened:
                image = opened.convert("RGBA") if opened.mode in ("RGBA", "LA", "P") else opened
                if image.mode == "RGBA":  # transparent ground → white
                    ground = Image.new("RGBA", image.size, (255, 255, 255, 255))
                    image = Image.alpha_composite(ground, image)
                converted = []
                if opened.mode != "L":
                    converted.append(f"{opened.mode}→grayscale")
                gray = image.convert("L")
                if gray.size != (size[1], size[0]):
                    converted.append(f"{gray.width}×{gray.height}→{size[1]}×{size[0]}")
                    gray = gray.resize((size[1], size[0]), Image.LANCZOS)
                array = np.asarray(gray, dtype=np.uint8)
        except (UnidentifiedImageError, OSError) as err:
            raise ConfigError(f"{path}: not a readable image ({err})") from None
        border = np.concatenate([array[0], array[-1], array[:, 0], array[:, -1]])
        if border.mean() > 127:  # light ground: the drawing is dark ink, glyphs store ink high
            array = 255 - array
            converted.append("inverted (dark ink on light ground)")
        if array.max() < 64:
            raise ConfigError(f"{path}: the image holds no ink")
        if converted:
            notes.append(f"{path.name}: {', '.join(converted)}")
        images.append(array)
        cps.append(cp)
    return np.stack(images), cps, notes
