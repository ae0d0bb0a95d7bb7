"""A corpus: one glyph set per font face, described by ``manifest.json``.

Layout::

    corpus/
      manifest.json       format, version, size, placement, geometry, charset, augmentation,
                          faces, skipped
      faces/NAME/         a glyph set folder (see :mod:`hangulgan.data.glyphset`)

Each face folder appears atomically and the manifest is rewritten atomically after
every face, so an interrupted render leaves only whole faces, and re-running it skips
them (matched by file hash and face index). One writer at a time: ``render`` and
``corpus merge`` hold :func:`hangulgan.io.folder_lock` on the corpus, and clean the
temporaries a killed run left behind.

A damaged font never stops a run: what FreeType cannot read is listed as skipped with
its reason, and a face is judged after rendering (see :func:`damage_reason`): it is
*damaged*, and skipped, when more than 1% of its mapped glyphs fail to load, when none
draws ink, or when more than half of them draw no ink and the glyphs it does draw are
not the KS X 1001 set (the 2,350-syllable design of Baekmuk Dotum or NanumSquare, which
map all 11,172 but draw only those, stays). The few glyphs of a sound face that fail
are listed in the manifest as ``failed``; its empty ones as ``empty``.
"""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hangulgan import hangul
from hangulgan.data.augment import AugmentConfig
from hangulgan.data.face import FaceInfo, SkippedFont, face_label
from hangulgan.data.fonts import collect_faces, fonttools_quiet
from hangulgan.data.glyphset import GlyphSet
from hangulgan.data.placement import RULES as GEOMETRY_RULES
from hangulgan.data.render import PLACEMENTS
from hangulgan.data.webfonts import open_renderer
from hangulgan.errors import (
    CorpusError,
    DiskFullError,
    FontError,
    GlyphSetError,
    HangulganError,
)
from hangulgan.io import (
    disk_full_as_error,
    folder_lock,
    read_folder_header,
    write_json_atomic,
)

CORPUS_FORMAT = "hangulgan.corpus"
CORPUS_VERSION = 1
MANIFEST = "manifest.json"
FACES_DIR = "faces"

# The damage rule (module docstring): thresholds on a face's mapped glyphs.
MAX_FAILED_SHARE = 0.01  # more of them failing to load: damaged
MOSTLY_EMPTY_SHARE = 0.5  # more of them drawing no ink: damaged, unless ...
SUBSET_DESIGN_SHARE = 0.95  # ... the drawn ones hold this share of its KS X 1001 syllables


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


@dataclass
class FaceOutcome:
    """What rendering one face produced."""

    face_id: str
    glyphs: int
    missing: int
    empty: list[int]
    seconds: float
    failed: list[int] = field(default_factory=list)  # mapped, but FreeType cannot load them


@dataclass
class RenderSummary:
    """The result of a ``render`` run, for the summary table and the exit code."""

    rendered: list[FaceOutcome] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    skipped: list[SkippedFont] = field(default_factory=list)
    duplicates: list[SkippedFont] = field(default_factory=list)
    other_shard: int = 0


# --------------------------------------------------------------------------- manifest


def _empty_manifest(settings: RenderSettings) -> dict[str, Any]:
    return {"format": CORPUS_FORMAT, "version": CORPUS_VERSION, **settings.key(), "faces": {}}


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
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


# Temporaries a killed writer leaves in a corpus: atomic_dir's ".FACE.xxxx.tmp" and
# ".FACE.old-PID" folders, merge's ".FACE.merge-PID" folders, atomic_path's
# ".manifest.json.xxxx.tmp" files.
_STALE = re.compile(r"^\..+(\.tmp|\.old-\d+|\.merge-\d+)$")


def clean_stale_temporaries(folder: str | Path) -> list[Path]:
    """Remove what killed writers left in a corpus folder; return what was removed.

    Call it only while holding the corpus's lock: then no live writer owns them.
    """
    folder = Path(folder)
    removed = []
    for parent in (folder, folder / FACES_DIR):
        if not parent.is_dir():
            continue
        for entry in parent.iterdir():
            if not _STALE.match(entry.name):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """Read and check ``manifest.json``; CorpusError names the file and the problem."""
    return read_folder_header(
        folder,
        MANIFEST,
        CORPUS_FORMAT,
        CORPUS_VERSION,
        CorpusError,
        "corpus",
        "corpus manifest",
        hint="render the fonts again into a new folder",
        missing_hint="make one with hangulgan render",
    )


def _check_settings(manifest: dict[str, Any], settings: RenderSettings, folder: Path) -> None:
    key = settings.key()
    for name in ("size", "placement", "geometry", "charset", "augment"):
        if manifest.get(name) != key[name]:
            raise CorpusError(
                f"{folder}: rendered with {name}={json.dumps(manifest.get(name))}, asked "
                f"{json.dumps(key[name])}; use a new folder, or --force to render it anew"
            )


# --------------------------------------------------------------------------- rendering


def _face_record(info: FaceInfo, outcome: FaceOutcome) -> dict[str, Any]:
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
    import time

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
    glyphs.save(out_dir / FACES_DIR / info.face_id, overwrite=True)
    return FaceOutcome(
        info.face_id, len(codepoints), missing, empty, time.perf_counter() - start, failed
    )


def damage_reason(
    drawn: np.ndarray | list[int], empty: list[int], failed: list[int], first_error: str = ""
) -> str | None:
    """Why a rendered face is damaged (module docstring), or None when it is sound.

    ``drawn``, ``empty`` and ``failed`` split the code points its cmap maps: drawn with
    ink, loaded but inkless, not loadable.
    """
    drawn = np.asarray(drawn, dtype=np.int32)
    mapped = len(drawn) + len(empty) + len(failed)
    if len(failed) > MAX_FAILED_SHARE * mapped:
        detail = first_error.split(": ", 1)[-1] if first_error else "FreeType error"
        return (
            f"damaged: {len(failed):,} of {mapped:,} mapped glyphs fail to load ({detail}); "
            f"at most {MAX_FAILED_SHARE:.0%} may"
        )
    if not len(drawn):
        return f"damaged: none of its {mapped:,} mapped syllables draws any ink"
    if len(empty) > MOSTLY_EMPTY_SHARE * mapped:
        ksx = np.asarray(hangul.ksx1001_syllables(), dtype=np.int32)
        ksx_mapped = np.isin(np.concatenate([drawn, empty, failed]).astype(np.int32), ksx).sum()
        ksx_drawn = np.isin(drawn, ksx).sum()
        if not ksx_mapped or ksx_drawn < SUBSET_DESIGN_SHARE * ksx_mapped:
            return (
                f"damaged: {len(empty):,} of its {mapped:,} mapped syllables draw no ink, and "
                f"the {len(drawn):,} it draws are not the KS X 1001 set"
            )
    return None


_progress_queue: Any = None


def _die_with_parent(parent_pid: int) -> None:
    """Make this worker process end when the process that started it dies, even by
    SIGKILL: on Linux through the kernel (PR_SET_PDEATHSIG), elsewhere by a watch thread."""
    import signal

    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            if libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0) == 0:
                if os.getppid() != parent_pid:  # it died before prctl took effect
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _worker_init(queue: Any, parent_pid: int) -> None:
    global _progress_queue
    _die_with_parent(parent_pid)
    _progress_queue = queue


def _worker_render(info: FaceInfo, settings: RenderSettings, out_dir: Path) -> FaceOutcome:
    def report(n: int) -> None:
        if _progress_queue is not None:
            _progress_queue.put((info.face_id, n))

    return render_one_face(info, settings, out_dir, report)


def render_pool(workers: int, queue: Any) -> ProcessPoolExecutor:
    """A pool of render processes (spawned: no fork after torch/FreeType state) that die
    with this process, reporting progress as (face_id, glyphs) on ``queue``."""
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_worker_init,
        initargs=(queue, os.getpid()),
    )


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
    if (out_dir / MANIFEST).exists():
        if force:
            manifest = _empty_manifest(settings)
        else:
            manifest = read_manifest(out_dir)
            _check_settings(manifest, settings, out_dir)
    else:
        manifest = _empty_manifest(settings)

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

    def record_lists() -> None:
        manifest["skipped"] = [{"path": str(s.path), "reason": s.reason} for s in summary.skipped]
        manifest["duplicates"] = [
            {"path": str(s.path), "reason": s.reason} for s in summary.duplicates
        ]

    record_lists()
    _write_manifest(out_dir, manifest)

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
            manifest["faces"][info.face_id] = _face_record(info, outcome)
            summary.rendered.append(outcome)
        _write_manifest(out_dir, manifest)
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
            _render_parallel(todo, settings, out_dir, workers, overall, finish, progress)
    finally:
        overall.close()
    return summary


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


def _render_parallel(todo, settings, out_dir, workers, overall, finish, progress) -> None:
    """Render ``todo`` in worker processes, calling ``finish`` with each face's outcome.

    A face whose worker dies (a crash inside FreeType, the OOM killer) breaks the pool;
    the faces it took down are then rendered one at a time in fresh single-worker pools,
    where a second death names the face that causes it, which is skipped.
    """
    from tqdm.auto import tqdm

    queue = multiprocessing.get_context("spawn").Queue()
    by_id = {info.face_id: info for info in todo}
    bars: dict[str, Any] = {}

    def drain() -> None:
        while not queue.empty():
            face_id, n = queue.get_nowait()
            if face_id not in bars:
                bars[face_id] = tqdm(
                    total=len(by_id[face_id].covered),
                    desc=face_id[:28].ljust(28),
                    unit="glyph",
                    leave=False,
                    disable=not progress,
                )
            bars[face_id].update(n)
            overall.update(n)

    waiting: list[FaceInfo] = []

    def settle(future: Future, info: FaceInfo) -> BaseException | None:
        """Pass a finished face to ``finish``; return an error that must stop the run."""
        if info.face_id in bars:
            bars.pop(info.face_id).close()
        try:
            outcome = future.result()
        except FontError as err:
            outcome = err
        except BaseException as err:  # noqa: BLE001 - returned, re-raised by the caller
            return err
        alternate = finish(info, outcome)
        if alternate is not None:
            by_id[alternate.face_id] = alternate
            waiting.insert(0, alternate)
        return None

    def run(batch: list[FaceInfo], pool_workers: int, one_at_a_time: bool) -> list[FaceInfo]:
        """Render ``batch``; return the faces lost to a broken pool."""
        lost: list[FaceInfo] = []
        waiting[:] = batch
        with render_pool(pool_workers, queue) as pool:
            pending: dict[Future, FaceInfo] = {}
            fatal: BaseException | None = None
            try:
                while waiting or pending:
                    while waiting and (not one_at_a_time or not pending):
                        info = waiting.pop(0)
                        pending[pool.submit(_worker_render, info, settings, out_dir)] = info
                    done, _ = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                    drain()
                    for future in done:
                        info = pending.pop(future)
                        error = settle(future, info)
                        if isinstance(error, BrokenProcessPool):
                            lost.append(info)
                        elif error is not None:
                            fatal = fatal or error
                    if lost and not fatal:
                        # The pool is dead: every face still pending is lost with it.
                        lost.extend(pending.values())
                        pending.clear()
                        lost.extend(waiting)
                        waiting.clear()
                    if fatal:
                        raise fatal
            except BaseException:
                # Stop: cancel what has not started, but record every face that still
                # finishes, so no finished face drops out of the manifest.
                for future in pending:
                    future.cancel()
                for future, info in pending.items():
                    if not future.cancelled():
                        wait([future])
                        if future.exception() is None or isinstance(future.exception(), FontError):
                            settle(future, info)
                raise
            finally:
                for bar in bars.values():
                    bar.close()
                bars.clear()
        return lost

    lost = run(todo, workers, one_at_a_time=False)
    while lost:
        # One face at a time: a death now names its face, which is skipped.
        culprit_or_rest = run(lost, 1, one_at_a_time=True)
        if not culprit_or_rest:
            break
        culprit, lost = culprit_or_rest[0], culprit_or_rest[1:]
        alternate = finish(
            culprit,
            FontError(
                f"{face_label(culprit.path, culprit.index, culprit.num_faces)}: the render "
                "process died on this face (a crash inside FreeType?)"
            ),
        )
        if alternate is not None:
            by_id[alternate.face_id] = alternate
            lost.insert(0, alternate)


# --------------------------------------------------------------------------- reading


class Corpus:
    """A rendered corpus: its manifest and memory-mapped faces."""

    def __init__(self, folder: Path, manifest: dict[str, Any]) -> None:
        self.folder = folder
        self.manifest = manifest

    @classmethod
    def open(cls, folder: str | Path) -> Corpus:
        """Open a corpus folder; CorpusError when missing, malformed or of another version."""
        folder = Path(folder)
        return cls(folder, read_manifest(folder))

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of every glyph."""
        return int(self.manifest["size"]), int(self.manifest["size"])

    @property
    def placement(self) -> str:
        """``em`` or ``fit``."""
        return str(self.manifest["placement"])

    @property
    def face_names(self) -> list[str]:
        """Face ids in manifest order."""
        return list(self.manifest["faces"])

    def face_record(self, name: str) -> dict[str, Any]:
        """The manifest entry of one face."""
        try:
            return self.manifest["faces"][name]
        except KeyError:
            raise CorpusError(self._unknown_face(name)) from None

    def _unknown_face(self, name: str) -> str:
        names = self.face_names
        hint = ", ".join(names[:8]) + (" …" if len(names) > 8 else "")
        return f"{self.folder}: no face named {name!r} (faces: {hint or 'none'})"

    def face(self, name: str, mmap: bool = True, augmented: bool = True) -> GlyphSet:
        """The glyph set of one face (memory-mapped by default)."""
        if name not in self.manifest["faces"]:
            raise CorpusError(self._unknown_face(name))
        try:
            return GlyphSet.load(self.folder / FACES_DIR / name, mmap=mmap, augmented=augmented)
        except GlyphSetError as err:
            raise CorpusError(str(err)) from None

    def faces(self) -> Iterable[tuple[str, GlyphSet]]:
        """(name, glyph set) for every face."""
        for name in self.face_names:
            yield name, self.face(name)


def open_glyphset(ref: str | Path) -> GlyphSet:
    """A glyph set from a folder, or a corpus face written ``CORPUS::FACE``."""
    text = str(ref)
    if "::" in text:
        folder, name = text.rsplit("::", 1)
        return Corpus.open(folder).face(name)
    path = Path(text)
    if (path / MANIFEST).is_file() and not (path / "glyphset.json").is_file():
        corpus = Corpus.open(path)
        raise GlyphSetError(
            f"{path}: is a corpus; name one face as {path}::FACE "
            f"(e.g. {path}::{corpus.face_names[0] if corpus.face_names else 'NAME'})"
        )
    return GlyphSet.load(path)


# --------------------------------------------------------------------------- preview, merge


def _write_sheet(
    tiles: list[list[np.ndarray | None]],
    out: str | Path,
    scale: int,
    row_labels: list[str] | None = None,
) -> Path:
    """Lay out rows of H×W tiles (None = blank cell) as a PNG, ink dark on white; with
    ``row_labels``, each row's label written to its left."""
    from PIL import Image, ImageDraw, ImageFont

    from hangulgan.io import atomic_path

    height, width = next(t for row in tiles for t in row if t is not None).shape
    columns = max(len(row) for row in tiles)
    pad = 2
    sheet = np.full(
        (len(tiles) * (height + pad) + pad, columns * (width + pad) + pad), 255, dtype=np.uint8
    )
    for r, row in enumerate(tiles):
        for c, tile in enumerate(row):
            if tile is not None:
                y, x = pad + r * (height + pad), pad + c * (width + pad)
                sheet[y : y + height, x : x + width] = 255 - np.asarray(tile)
    image = Image.fromarray(sheet)
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    if row_labels:
        font = ImageFont.load_default()
        measure = ImageDraw.Draw(image)
        boxes = [measure.textbbox((0, 0), label, font=font) for label in row_labels]
        margin = max(box[2] for box in boxes) + 6 * pad
        labelled = Image.new("L", (image.width + margin, image.height), 255)
        labelled.paste(image, (margin, 0))
        draw = ImageDraw.Draw(labelled)
        row_height = (height + pad) * max(scale, 1)
        for r, (label, box) in enumerate(zip(row_labels, boxes, strict=True)):
            top = pad * max(scale, 1) + r * row_height + (height * max(scale, 1) - box[3]) // 2
            draw.text((2 * pad, top), label, fill=0, font=font)
        image = labelled
    out = Path(out)
    try:
        with atomic_path(out, suffix=".png") as tmp:
            image.save(tmp, format="PNG")
    except OSError as err:
        raise HangulganError(f"{out}: cannot write preview ({err.strerror or err})") from None
    return out


def preview_sheet(
    glyphs: GlyphSet,
    out: str | Path,
    columns: int = 32,
    count: int = 256,
    scale: int = 2,
    text: str | None = None,
) -> Path:
    """Write a PNG grid of one glyph set (a spread sample, or ``text``) and return its path."""
    if text:
        held = set(glyphs.codepoints.tolist())
        picks = [glyphs.index_of(ord(ch)) for ch in text if ord(ch) in held]
    else:
        step = max(1, len(glyphs) // count)
        picks = list(range(0, len(glyphs), step))[:count]
    if not picks:
        raise GlyphSetError(f"{glyphs.name}: nothing to preview")
    columns = min(columns, len(picks))
    tiles = [
        [glyphs.images[i] for i in picks[start : start + columns]]
        for start in range(0, len(picks), columns)
    ]
    return _write_sheet(tiles, out, scale)


def compare_sheet(
    corpus: Corpus,
    text: str,
    out: str | Path,
    faces: list[str] | None = None,
    scale: int = 2,
    labels: bool = True,
) -> Path:
    """One row per face (``faces``, default all), the syllables of ``text`` across:
    styles side by side, each row labelled with its face name unless ``labels`` is off."""
    cps = [ord(ch) for ch in text if hangul.is_syllable(ord(ch))]
    if not cps:
        raise CorpusError(f"--text {text!r}: holds no Hangul syllable")
    names = faces or corpus.face_names
    rows = []
    for name in names:
        glyphs = corpus.face(name, augmented=False)
        held = set(glyphs.codepoints.tolist())
        rows.append([glyphs.image(cp) if cp in held else None for cp in cps])
    if not any(t is not None for row in rows for t in row):
        raise CorpusError(f"{corpus.folder}: no face draws any of {text!r}")
    return _write_sheet(rows, out, scale, row_labels=list(names) if labels else None)


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
    from contextlib import ExitStack

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
                    # Not listed and not this face: the leftover of an interrupted render.
                    shutil.rmtree(target, ignore_errors=True)
                if not target.exists():
                    _bring_face(source, target, path, move)
                merged["faces"][name] = record
                signatures.add(record.get("signature"))
                added.append(name)
                _write_manifest(out_dir, merged)
                if move:
                    if source.exists():  # copied across file systems: remove it now
                        shutil.rmtree(source)
                    _unlist(path, manifest, name)
            for item in manifest.get("skipped", []):
                if item not in skipped:
                    skipped.append(item)
        merged["skipped"] = skipped
        _write_manifest(out_dir, merged)
    return added


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
    tmp = target.with_name(f".{target.name}.merge-{os.getpid()}")
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
        _write_manifest(corpus, manifest)
