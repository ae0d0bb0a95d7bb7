"""``render``: every face under some font paths into a corpus folder.

Each face folder appears atomically and the manifest is rewritten atomically after
every face, so an interrupted render leaves only whole faces, and re-running it skips
them (matched by file hash and face index). One writer at a time: ``render`` and
``corpus merge`` hold :func:`hangulgan.io.folder_lock` on the corpus, and clean the
temporaries a killed run left behind. A damaged face is skipped (see
:mod:`hangulgan.data.damage`), and a copy of the same drawings renders in its place.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hangulgan.data.corpus import CORPUS_FORMAT, FACES_DIR, MANIFEST, read_manifest
from hangulgan.data.corpus_face import FaceOutcome, face_record, render_one_face
from hangulgan.data.corpus_manifest import (
    RenderSettings,
    check_settings,
    clean_stale_temporaries,
    empty_manifest,
    face_folder_is_ours,
    not_ours_error,
    write_manifest,
)
from hangulgan.data.corpus_pool import render_parallel
from hangulgan.data.face import FaceInfo, SkippedFont, face_label
from hangulgan.data.fonts import collect_faces
from hangulgan.errors import CorpusError, FontError
from hangulgan.io import folder_lock


@dataclass
class RenderSummary:
    """The result of a ``render`` run, for the summary table and the exit code."""

    rendered: list[FaceOutcome] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    skipped: list[SkippedFont] = field(default_factory=list)
    duplicates: list[SkippedFont] = field(default_factory=list)
    other_shard: int = 0


def parse_shard(spec: str | None) -> tuple[int, int]:
    """``"i/n"`` → (i, n) with 0 ≤ i < n; None → (0, 1)."""
    if not spec:
        return 0, 1
    try:
        i, n = (int(part) for part in spec.split("/"))
    except ValueError:
        raise CorpusError(f"--shard {spec}: write it as i/n, e.g. 0/4") from None
    if n < 1 or not 0 <= i < n:
        raise CorpusError(f"--shard {spec}: need 0 <= i < n")
    return i, n


def render_corpus(
    font_paths: Iterable[str | Path],
    out_dir: str | Path,
    settings: RenderSettings,
    workers: int = 1,
    force: bool = False,
    shard: tuple[int, int] = (0, 1),
    progress: bool = True,
    instances: bool = False,
) -> RenderSummary:
    """Render every face under ``font_paths`` into the corpus at ``out_dir``.

    ``instances`` adds the named instances of variable fonts as faces of their own.
    LockedError when another process is writing the corpus.
    """
    settings.validate()
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise CorpusError(f"{out_dir}: output exists and is a file, not a folder")
    try:
        (out_dir / FACES_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CorpusError(f"{out_dir}: cannot create the corpus folder ({err.strerror})") from None
    with folder_lock(out_dir, what="corpus"):
        clean_stale_temporaries(out_dir)
        return _render_locked(
            list(font_paths), out_dir, settings, workers, force, shard, progress, instances
        )


def _render_locked(font_paths, out_dir, settings, workers, force, shard, progress, instances):
    from tqdm.auto import tqdm

    manifest: dict[str, Any]
    listed: list[str] = []  # the faces of the manifest on disk: folders this corpus made
    if (out_dir / MANIFEST).exists() or (out_dir / MANIFEST).is_symlink():
        if force:
            listed = list(_forced_manifest_faces(out_dir))
            manifest = empty_manifest(settings)
        else:
            manifest = read_manifest(out_dir)
            check_settings(manifest, settings, out_dir)
            listed = list(manifest["faces"])
    else:
        manifest = empty_manifest(settings)

    faces, skipped = collect_faces(font_paths, settings.charset, instances)
    summary = RenderSummary()
    for item in skipped:
        (summary.duplicates if item.duplicate else summary.skipped).append(item)
    index, count = shard
    mine = [info for position, info in enumerate(faces) if position % count == index]
    summary.other_shard = len(faces) - len(mine)

    # A face is done when the corpus holds the same drawings whole: same file and index,
    # or (a duplicate under another name, e.g. the JP variant of a Noto collection) the
    # same drawing signature.
    done_by_signature = {
        record.get("signature"): name
        for name, record in manifest["faces"].items()
        if (out_dir / FACES_DIR / name / "glyphset.json").is_file()
    }
    todo: list[FaceInfo] = []
    for info in mine:
        record = manifest["faces"].get(info.face_id)
        # the kept file, or a copy that stood in for it when it turned out damaged
        same_file = record is not None and any(
            record.get("file_sha256") == candidate.file_sha256
            and record.get("face_index") == candidate.index
            for candidate in [info, *info.alternates]
        )
        existing = done_by_signature.get(info.signature)
        if not force and existing and (same_file or existing != info.face_id):
            summary.reused.append(existing)
        else:
            todo.append(info)

    for info in todo:  # before anything is written: never replace a folder of the user's
        target = out_dir / FACES_DIR / info.face_id
        if not face_folder_is_ours(target, listed):
            raise not_ours_error(target)

    def record_lists() -> None:
        manifest["skipped"] = [{"path": str(s.path), "reason": s.reason} for s in summary.skipped]
        manifest["duplicates"] = [
            {"path": str(s.path), "reason": s.reason} for s in summary.duplicates
        ]

    record_lists()
    write_manifest(out_dir, manifest)

    total = sum(len(info.covered) for info in todo)
    warn_disk_use(settings, total, len(todo), out_dir)
    overall = tqdm(
        total=total, unit="glyph", unit_scale=True, desc="all faces", disable=not progress
    )

    def finish(info: FaceInfo, outcome: FaceOutcome | FontError) -> FaceInfo | None:
        """Record a face's outcome; return the copy to render in place of a damaged face."""
        alternate = None
        if isinstance(outcome, FontError):
            reason = str(outcome)
            label = face_label(info.path, info.index, info.num_faces)
            prefix = f"{label}: "
            summary.skipped.append(
                SkippedFont(label, reason[len(prefix) :] if reason.startswith(prefix) else reason)
            )
            if info.alternates:
                alternate, *rest = info.alternates
                alternate.alternates, alternate.face_id = rest, info.face_id
                alt_label = face_label(alternate.path, alternate.index, alternate.num_faces)
                summary.duplicates = [d for d in summary.duplicates if d.path != alt_label]
                overall.total += len(alternate.covered)
            record_lists()
        else:
            manifest["faces"][info.face_id] = face_record(info, outcome)
            summary.rendered.append(outcome)
        write_manifest(out_dir, manifest)
        return alternate

    try:
        if workers <= 1 or len(todo) <= 1:
            queue = list(reversed(todo))
            while queue:
                info = queue.pop()
                overall.set_postfix_str(info.face_id)
                try:
                    outcome = render_one_face(info, settings, out_dir, overall.update)
                except FontError as err:
                    outcome = err
                alternate = finish(info, outcome)
                if alternate is not None:
                    queue.append(alternate)
        else:
            render_parallel(todo, settings, out_dir, workers, overall, finish, progress)
    finally:
        overall.close()
    return summary


def _forced_manifest_faces(out_dir: Path) -> list[str]:
    """The faces that the manifest ``render --force`` replaces lists; CorpusError when the
    file is not a corpus manifest, which ``--force`` does not replace."""
    path = out_dir / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != CORPUS_FORMAT:
        raise CorpusError(
            f"{path}: not a hangulgan corpus manifest; --force replaces only a corpus that "
            "render made: move the file away, or render into another folder"
        )
    faces = manifest.get("faces")
    return [str(name) for name in faces] if isinstance(faces, dict) else []


# `render --augment` warns before it writes more than this.
AUGMENT_WARN_BYTES = 2**30


def warn_disk_use(settings: RenderSettings, glyphs: int, faces: int, out_dir: Path) -> None:
    """Say on stderr, before rendering starts, how much an augmented render will write
    when that is more than :data:`AUGMENT_WARN_BYTES`, and how much room the disk has."""
    need = settings.disk_bytes(glyphs)
    if not settings.augment_copies or need < AUGMENT_WARN_BYTES:
        return
    try:
        free = f"; {shutil.disk_usage(out_dir).free / 1e9:.1f} GB free there"
    except OSError:
        free = ""
    copies = settings.augment_copies
    print(
        f"warning: --augment {copies} writes about {need / 1e9:.1f} GB to {out_dir} "
        f"({faces} faces, {glyphs:,} glyphs × {1 + copies} images of "
        f"{settings.size}×{settings.size} px{free})",
        file=sys.stderr,
        flush=True,
    )
