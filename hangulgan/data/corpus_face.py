"""Render one face into a corpus: its glyphs (and augmented copies) as one glyph set folder,
written atomically, and the manifest record that lists it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hangulgan.data.corpus import FACE_MARK, FACES_DIR
from hangulgan.data.corpus_manifest import RenderSettings
from hangulgan.data.damage import damage_reason
from hangulgan.data.face import FaceInfo, face_label
from hangulgan.data.fonts import fonttools_quiet
from hangulgan.data.glyphset import GlyphSet
from hangulgan.data.webfonts import open_renderer
from hangulgan.errors import FontError


@dataclass
class FaceOutcome:
    """What rendering one face produced."""

    face_id: str
    glyphs: int
    missing: int
    empty: list[int]
    seconds: float
    failed: list[int] = field(default_factory=list)  # mapped, but FreeType cannot load them


def face_record(info: FaceInfo, outcome: FaceOutcome) -> dict[str, Any]:
    return {
        "name": info.display_name,
        "family": info.family,
        "style": info.style,
        "postscript_name": info.postscript_name,
        "file": str(info.path),
        "file_name": info.path.name,
        "face_index": info.index,
        "file_sha256": info.file_sha256,
        "signature": info.signature,
        "licence": info.licence,
        "glyphs": outcome.glyphs,
        "missing": outcome.missing,
        "empty": [f"U+{cp:04X}" for cp in outcome.empty],
        "failed": [f"U+{cp:04X}" for cp in outcome.failed],
    }


def _augment_seed(seed: int, signature: str) -> int:
    # Seeded per face, not per worker, so the copies do not depend on scheduling.
    return (int(seed) * 1_000_003 + int(signature[:12], 16)) % (2**63)


def render_one_face(
    info: FaceInfo,
    settings: RenderSettings,
    out_dir: Path,
    progress: Callable[[int], None] | None = None,
) -> FaceOutcome:
    """Render one face (and its augmented copies) into ``out_dir/faces/ID`` atomically.

    FontError (nothing written) when FreeType cannot use the face or it is damaged.
    """
    start = time.perf_counter()
    with fonttools_quiet():  # the renderer reads the metrics of a possibly damaged file
        renderer = open_renderer(info, settings.size, settings.placement)  # one file or many
    charset = np.asarray(settings.charset, dtype=np.int32)
    chunks = []
    chunk = 2048
    for begin in range(0, len(charset), chunk):
        chunks.append(renderer.render(charset[begin : begin + chunk]))
        if progress:
            progress(min(chunk, len(charset) - begin))
    images = np.concatenate([c.images for c in chunks])
    codepoints = np.concatenate([c.codepoints for c in chunks])
    missing = int(sum(len(c.missing) for c in chunks))
    empty = [int(cp) for c in chunks for cp in c.empty]
    failed = [int(cp) for c in chunks for cp in c.failed]
    reason = damage_reason(
        codepoints, empty, failed, next((c.first_error for c in chunks if c.first_error), "")
    )
    if reason:
        raise FontError(f"{face_label(info.path, info.index, info.num_faces)}: {reason}")
    advances = np.concatenate([c.advances for c in chunks])
    meta = {
        "source_file": info.path.name,
        "face_index": info.index,
        "family": info.family,
        "style": info.style,
        "placement": settings.placement,
        "file_sha256": info.file_sha256,
    }
    if renderer.geometry is not None:  # where the pixels lie, for export-ttf to invert
        geometry = renderer.geometry.with_advances(codepoints.tolist(), advances.tolist())
        meta["geometry"] = geometry.to_meta()
    augmented = params = None
    param_names: list[str] = []
    if settings.augment_copies and len(images):
        import torch

        from hangulgan.data.augment import PARAM_NAMES, augment_copies

        torch.set_num_threads(1)  # one face per process; processes already fill the cores
        augmented, params = augment_copies(
            images,
            settings.augment_copies,
            settings.augment,
            seed=_augment_seed(settings.seed, info.signature),
        )
        param_names = list(PARAM_NAMES)
    glyphs = GlyphSet(
        images=images,
        codepoints=codepoints,
        name=info.face_id,
        meta=meta,
        augmented=augmented,
        augment_params=params,
        augment_param_names=param_names,
    )
    glyphs.save(out_dir / FACES_DIR / info.face_id, overwrite=True, mark=FACE_MARK)
    return FaceOutcome(
        info.face_id, len(codepoints), missing, empty, time.perf_counter() - start, failed
    )
