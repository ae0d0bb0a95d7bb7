"""A corpus: one glyph set per font face, described by ``manifest.json``.

Layout::

    corpus/
      manifest.json       format, version, size, placement, charset, augmentation, faces, skipped
      faces/NAME/         a glyph set folder (see :mod:`hangulgan.data.glyphset`)

Each face folder appears atomically and the manifest is rewritten atomically after
every face, so an interrupted render leaves only whole faces, and re-running it skips
them (matched by file hash and face index).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hangulgan import hangul
from hangulgan.data.augment import AugmentConfig
from hangulgan.data.fonts import FaceInfo, Skipped, collect_faces
from hangulgan.data.glyphset import GlyphSet
from hangulgan.data.placement import RULES as GEOMETRY_RULES
from hangulgan.data.render import PLACEMENTS
from hangulgan.data.webfonts import open_renderer
from hangulgan.errors import CorpusError, GlyphSetError, HangulganError
from hangulgan.io import read_format_json, write_json_atomic

CORPUS_FORMAT = "hangulgan.corpus"
CORPUS_VERSION = 1
MANIFEST = "manifest.json"
FACES_DIR = "faces"


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
        """The settings a resumed render must match."""
        return {
            "size": self.size,
            "placement": self.placement,
            # the rule every face's geometry follows (see data.placement): corpora rendered
            # before it was recorded, or under another rule, are never mixed with this one
            "geometry": GEOMETRY_RULES[self.placement],
            "charset": {"name": self.charset_name, "count": len(self.charset)},
            "augment": {
                "copies": self.augment_copies,
                "seed": self.seed,
                "config": self.augment.to_dict() if self.augment_copies else None,
            },
        }


@dataclass
class FaceOutcome:
    """What rendering one face produced."""

    face_id: str
    glyphs: int
    missing: int
    empty: list[int]
    seconds: float


@dataclass
class RenderSummary:
    """The result of a ``render`` run, for the summary table and the exit code."""

    rendered: list[FaceOutcome] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    duplicates: list[Skipped] = field(default_factory=list)
    other_shard: int = 0


# --------------------------------------------------------------------------- manifest


def _empty_manifest(settings: RenderSettings) -> dict[str, Any]:
    return {"format": CORPUS_FORMAT, "version": CORPUS_VERSION, **settings.key(), "faces": {}}


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """Read and check ``manifest.json``; CorpusError names the file and the problem."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not folder.exists():
        raise CorpusError(f"{folder}: no such corpus folder")
    if not folder.is_dir():
        raise CorpusError(f"{folder}: is a file, not a corpus folder")
    if not path.is_file():
        raise CorpusError(f"{folder}: not a corpus (no {MANIFEST}; make one with hangulgan render)")
    manifest = read_format_json(
        path,
        CORPUS_FORMAT,
        CORPUS_VERSION,
        CorpusError,
        "corpus manifest",
        "render the fonts again into a new folder",
    )
    return manifest


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
    """Render one face (and its augmented copies) into ``out_dir/faces/ID`` atomically."""
    import time

    start = time.perf_counter()
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
    return FaceOutcome(info.face_id, len(codepoints), missing, empty, time.perf_counter() - start)


_progress_queue: Any = None


def _worker_init(queue: Any) -> None:
    global _progress_queue
    _progress_queue = queue


def _worker_render(info: FaceInfo, settings: RenderSettings, out_dir: Path) -> FaceOutcome:
    def report(n: int) -> None:
        if _progress_queue is not None:
            _progress_queue.put((info.face_id, n))

    return render_one_face(info, settings, out_dir, report)


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
    """
    from tqdm.auto import tqdm

    settings.validate()
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise CorpusError(f"{out_dir}: output exists and is a file, not a folder")
    manifest: dict[str, Any]
    if (out_dir / MANIFEST).exists():
        if force:
            manifest = _empty_manifest(settings)
        else:
            manifest = read_manifest(out_dir)
            _check_settings(manifest, settings, out_dir)
    else:
        manifest = _empty_manifest(settings)
    try:
        (out_dir / FACES_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CorpusError(f"{out_dir}: cannot create the corpus folder ({err.strerror})") from None

    faces, skipped = collect_faces(list(font_paths), settings.charset, instances)
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
        same_file = (
            record is not None
            and record.get("file_sha256") == info.file_sha256
            and record.get("face_index") == info.index
        )
        existing = done_by_signature.get(info.signature)
        if not force and existing and (same_file or existing != info.face_id):
            summary.reused.append(existing)
        else:
            todo.append(info)

    manifest["skipped"] = [{"path": str(s.path), "reason": s.reason} for s in summary.skipped]
    manifest["duplicates"] = [{"path": str(s.path), "reason": s.reason} for s in summary.duplicates]
    write_json_atomic(out_dir / MANIFEST, manifest)

    total = sum(len(info.covered) for info in todo)
    warn_disk_use(settings, total, len(todo), out_dir)
    overall = tqdm(
        total=total, unit="glyph", unit_scale=True, desc="all faces", disable=not progress
    )

    def finish(info: FaceInfo, outcome: FaceOutcome) -> None:
        manifest["faces"][info.face_id] = _face_record(info, outcome)
        write_json_atomic(out_dir / MANIFEST, manifest)
        summary.rendered.append(outcome)

    try:
        if workers <= 1 or len(todo) <= 1:
            for info in todo:
                overall.set_postfix_str(info.face_id)
                finish(info, render_one_face(info, settings, out_dir, overall.update))
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
    from tqdm.auto import tqdm

    context = multiprocessing.get_context("spawn")  # no fork after torch/FreeType state
    queue = context.Queue()
    by_id = {info.face_id: info for info in todo}
    bars: dict[str, Any] = {}
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_worker_init, initargs=(queue,)
    ) as pool:
        pending = {pool.submit(_worker_render, info, settings, out_dir): info for info in todo}
        try:
            while pending:
                done, _ = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
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
                for future in done:
                    info = pending.pop(future)
                    outcome = future.result()
                    if info.face_id in bars:
                        bars.pop(info.face_id).close()
                    finish(info, outcome)
        except BaseException:
            for future in pending:
                future.cancel()
            raise
        finally:
            for bar in bars.values():
                bar.close()


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


def _write_sheet(tiles: list[list[np.ndarray | None]], out: str | Path, scale: int) -> Path:
    """Lay out rows of H×W tiles (None = blank cell) as a PNG, ink dark on white."""
    from PIL import Image

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
    corpus: Corpus, text: str, out: str | Path, faces: list[str] | None = None, scale: int = 2
) -> Path:
    """One row per face, the syllables of ``text`` across: styles side by side."""
    cps = [ord(ch) for ch in text if hangul.is_syllable(ord(ch))]
    if not cps:
        raise CorpusError(f"--text {text!r}: holds no Hangul syllable")
    rows = []
    for name in faces or corpus.face_names:
        glyphs = corpus.face(name, augmented=False)
        held = set(glyphs.codepoints.tolist())
        rows.append([glyphs.image(cp) if cp in held else None for cp in cps])
    if not any(t is not None for row in rows for t in row):
        raise CorpusError(f"{corpus.folder}: no face draws any of {text!r}")
    return _write_sheet(rows, out, scale)


def merge_corpora(parts: list[str | Path], out_dir: str | Path, move: bool = False) -> list[str]:
    """Join corpora rendered with the same settings (e.g. ``--shard`` outputs) into one."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise CorpusError(f"{out_dir}: output exists and is a file, not a folder")
    manifests = [(Path(p), read_manifest(p)) for p in parts]
    if not manifests:
        raise CorpusError("corpus merge: name at least one corpus to merge")
    keys = ("size", "placement", "geometry", "charset", "augment")
    first_path, first = manifests[0]
    for path, manifest in manifests[1:]:
        for key in keys:
            if manifest.get(key) != first.get(key):
                raise CorpusError(
                    f"{path}: {key} differs from {first_path} "
                    f"({json.dumps(manifest.get(key))} vs {json.dumps(first.get(key))})"
                )
    if (out_dir / MANIFEST).exists():
        merged = read_manifest(out_dir)
        for key in keys:
            if merged.get(key) != first.get(key):
                raise CorpusError(f"{out_dir}: {key} differs from the corpora being merged")
    else:
        merged = {k: v for k, v in first.items() if k not in ("faces", "skipped", "duplicates")}
        merged["faces"] = {}
    (out_dir / FACES_DIR).mkdir(parents=True, exist_ok=True)
    signatures = {rec.get("signature") for rec in merged["faces"].values()}
    added: list[str] = []
    skipped = list(merged.get("skipped", []))
    for path, manifest in manifests:
        for name, record in manifest["faces"].items():
            if name in merged["faces"] or record.get("signature") in signatures:
                continue
            source = path / FACES_DIR / name
            target = out_dir / FACES_DIR / name
            tmp = target.with_name(f".{name}.merge-{os.getpid()}")
            if tmp.exists():
                shutil.rmtree(tmp)
            if move:
                os.replace(source, tmp)
            else:
                shutil.copytree(source, tmp)
            os.replace(tmp, target)
            merged["faces"][name] = record
            signatures.add(record.get("signature"))
            added.append(name)
            write_json_atomic(out_dir / MANIFEST, merged)
        for item in manifest.get("skipped", []):
            if item not in skipped:
                skipped.append(item)
    merged["skipped"] = skipped
    write_json_atomic(out_dir / MANIFEST, merged)
    return added
