"""``corpus merge``: join corpora rendered with the same settings (e.g. ``--shard``
outputs) into one, crash-safe and resumable."""

from __future__ import annotations

import errno
import json
import os
import shutil
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from hangulgan.data.corpus import FACES_DIR, MANIFEST, read_manifest
from hangulgan.data.corpus_manifest import (
    clean_stale_temporaries,
    face_folder_is_ours,
    not_ours_error,
    write_manifest,
)
from hangulgan.data.glyphset import GlyphSet
from hangulgan.errors import CorpusError, DiskFullError, GlyphSetError
from hangulgan.io import disk_full_as_error, folder_lock, temp_path


def _write_failure(err: OSError) -> str:
    if isinstance(err, shutil.Error) and err.args and isinstance(err.args[0], list):
        # copytree gathers (source, target, why) triples
        return str(err.args[0][0][2]) if err.args[0] else "copy failed"
    return err.strerror or str(err)


def _holds_face(folder: Path, record: dict[str, Any]) -> bool:
    """Whether ``folder`` is the whole glyph set that ``record`` describes."""
    try:
        header = json.loads((folder / "glyphset.json").read_text(encoding="utf-8"))
        GlyphSet.load(folder)
    except (OSError, ValueError, GlyphSetError):
        return False
    meta = header.get("meta", {})
    return (
        header.get("count") == record.get("glyphs")
        and meta.get("file_sha256") == record.get("file_sha256")
        and meta.get("face_index") == record.get("face_index")
    )


def merge_corpora(parts: list[str | Path], out_dir: str | Path, move: bool = False) -> list[str]:
    """Join corpora rendered with the same settings (e.g. ``--shard`` outputs) into one.

    Crash-safe and resumable: a face folder reaches ``out_dir`` whole, by one rename,
    before the manifest lists it; a run that was killed at any point is finished by
    running it again, which adopts faces already moved or copied and cleans what the
    killed run left. With ``move`` the faces leave their source corpora, whose
    manifests stop listing them. Holds the lock of ``out_dir`` (and of the sources
    with ``move``).
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise CorpusError(f"{out_dir}: output exists and is a file, not a folder")
    part_paths = [Path(p) for p in parts]
    if not part_paths:
        raise CorpusError("corpus merge: name at least one corpus to merge")
    for path in part_paths:
        if path.resolve() == out_dir.resolve():
            raise CorpusError(f"{path}: is the output of the merge too; name another --out")
    keys = ("size", "placement", "geometry", "charset", "augment")
    try:
        (out_dir / FACES_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CorpusError(f"{out_dir}: cannot create the corpus folder ({err.strerror})") from None
    with ExitStack() as locks:
        locks.enter_context(folder_lock(out_dir, what="corpus"))
        if move:
            for path in part_paths:
                read_manifest(path)  # a clear error before a lock file is made there
                locks.enter_context(folder_lock(path, what="corpus"))
        manifests = [(path, read_manifest(path)) for path in part_paths]
        first_path, first = manifests[0]
        for path, manifest in manifests[1:]:
            for key in keys:
                if manifest.get(key) != first.get(key):
                    raise CorpusError(
                        f"{path}: {key} differs from {first_path} "
                        f"({json.dumps(manifest.get(key))} vs {json.dumps(first.get(key))})"
                    )
        clean_stale_temporaries(out_dir)
        if (out_dir / MANIFEST).exists():
            merged = read_manifest(out_dir)
            for key in keys:
                if merged.get(key) != first.get(key):
                    raise CorpusError(f"{out_dir}: {key} differs from the corpora being merged")
        else:
            merged = {k: v for k, v in first.items() if k not in ("faces", "skipped", "duplicates")}
            merged["faces"] = {}
        signatures = {rec.get("signature") for rec in merged["faces"].values()}
        _check_targets(out_dir, manifests, merged, signatures)
        added: list[str] = []
        skipped = list(merged.get("skipped", []))
        for path, manifest in manifests:
            for name, record in list(manifest["faces"].items()):
                source = path / FACES_DIR / name
                target = out_dir / FACES_DIR / name
                if name in merged["faces"] or record.get("signature") in signatures:
                    if move and merged["faces"].get(name) == record and not source.exists():
                        _unlist(path, manifest, name)  # a killed move's last step
                    continue
                if target.exists() and not _holds_face(target, record):
                    # Not listed and not this face, but marked as a rendered face (checked
                    # above): the leftover of an interrupted render.
                    shutil.rmtree(target, ignore_errors=True)
                if not target.exists():
                    _bring_face(source, target, path, move)
                merged["faces"][name] = record
                signatures.add(record.get("signature"))
                added.append(name)
                write_manifest(out_dir, merged)
                if move:
                    if source.exists():  # copied across file systems: remove it now
                        shutil.rmtree(source)
                    _unlist(path, manifest, name)
            for item in manifest.get("skipped", []):
                if item not in skipped:
                    skipped.append(item)
        merged["skipped"] = skipped
        write_manifest(out_dir, merged)
    return added


def _check_targets(
    out_dir: Path,
    manifests: list[tuple[Path, dict[str, Any]]],
    merged: dict[str, Any],
    signatures: set[Any],
) -> None:
    """Refuse, before anything is written, a merge that would replace a folder at
    ``out_dir/faces/NAME`` that the merged corpus did not make: one its manifest does not
    list, that does not hold the face being merged (a killed merge's, adopted) and that
    carries no rendered face's mark."""
    for _, manifest in manifests:
        for name, record in manifest["faces"].items():
            if name in merged["faces"] or record.get("signature") in signatures:
                continue  # merged already: its folder is not touched
            target = out_dir / FACES_DIR / name
            if target.is_symlink() or (target.exists() and not _holds_face(target, record)):
                if not face_folder_is_ours(target, merged["faces"]):
                    raise not_ours_error(target)


def _bring_face(source: Path, target: Path, corpus: Path, move: bool) -> None:
    """Put the face folder ``source`` at ``target`` whole, by one final rename."""
    if not (source / "glyphset.json").is_file():
        raise CorpusError(
            f"{source}: listed in {corpus / MANIFEST} but missing; render that corpus again"
        )
    if move:
        try:
            os.replace(source, target)  # one atomic step: nothing to strand
            return
        except OSError as err:
            if err.errno != errno.EXDEV:
                raise CorpusError(
                    f"{target}: cannot move the face ({_write_failure(err)})"
                ) from None
            # another file system: copy, and remove the source once the merge lists it
    tmp = temp_path(target, "merge")
    try:
        with disk_full_as_error(target):
            shutil.copytree(source, tmp)
            os.replace(tmp, target)
    except (OSError, DiskFullError) as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(err, DiskFullError):
            raise
        raise CorpusError(
            f"{target}: cannot copy the face ({_write_failure(err)}); the merged corpus keeps "
            "its last whole state"
        ) from None


def _unlist(corpus: Path, manifest: dict[str, Any], name: str) -> None:
    """A face moved out of ``corpus``: its manifest stops listing it."""
    if name in manifest["faces"]:
        del manifest["faces"][name]
        write_manifest(corpus, manifest)
