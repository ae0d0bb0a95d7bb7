"""``ocr-export --workers N``: the shards of one run made side by side, then merged.

Worker *i* makes shard *i/N* (:attr:`ExportOptions.shard`) into a hidden folder beside
``OUT``, and :func:`~hangulgan.ocr.merge.merge_exports` joins the parts into ``OUT``, so
``--workers N`` writes exactly what ``--shard 1/N`` … ``--shard N/N`` merged would. The
samples therefore depend on N (each shard draws from its own random stream); the splits
do not.

Workers are spawned, not forked: a forked child of a process that has run torch's thread
pool can hang. Each re-opens the sources from their references (a corpus is memory-mapped,
so its pages are shared); styles are drawn once, here, and handed over as glyph sets.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from dataclasses import replace
from pathlib import Path
from queue import Empty
from typing import Any

from hangulgan.data.glyphset import GlyphSet
from hangulgan.errors import ConfigError
from hangulgan.io import write_json_atomic
from hangulgan.ocr.compose import open_sources
from hangulgan.ocr.export import ExportOptions, ExportSummary, export

MAX_WORKERS = 256


def _make_part(
    refs: list[str], options: ExportOptions, texts: list[str] | None, out: str, queue: Any
) -> tuple[dict[str, int], list[str]]:
    """One worker: open the sources and write one shard (progress through ``queue``)."""
    if options.augment:
        import torch

        torch.set_num_threads(1)  # one core per worker: the workers are the parallelism
    sources = open_sources(refs, options.height)
    summary = export(sources, out, options, texts, source_refs=refs, progress=queue.put)
    return summary.written, summary.skipped


def export_parallel(
    refs: Sequence[str],
    styled: Sequence[GlyphSet],
    out: str | Path,
    options: ExportOptions,
    workers: int,
    texts: list[str] | None = None,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
    source_refs: Sequence[str] | None = None,
) -> ExportSummary:
    """Make the run ``options`` describes in ``workers`` processes and merge it into ``out``.

    ``refs`` are source references (:func:`open_sources`); ``styled`` glyph sets drawn by
    the styled model (:func:`~hangulgan.ocr.styles.styled_glyphsets`), saved once for the
    workers to read. ``force`` replaces ``out`` when it
    holds an earlier OCR dataset (the merge's rule). ``source_refs`` are recorded in the
    manifest (default ``refs``)."""
    from hangulgan.ocr.merge import check_merge_out, merge_exports

    if not 2 <= workers <= MAX_WORKERS:
        raise ConfigError(f"--workers {workers}: 2 to {MAX_WORKERS} (1: no worker processes)")
    if options.shard is not None:
        raise ConfigError("--workers with --shard: make more shards instead (--shard I/N)")
    options.validate()
    out = Path(out)
    check_merge_out(out, force)  # before any work: refused now, not after the workers ran
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.workers-{os.getpid()}-", dir=out.parent))
    try:
        refs = list(refs)
        for glyphs in styled:
            folder = scratch / "styles" / glyphs.name
            glyphs.save(folder)
            refs.append(str(folder))
        parts = [str(scratch / f"part-{i:03d}") for i in range(1, workers + 1)]
        context = multiprocessing.get_context("spawn")
        with context.Manager() as manager:
            queue = manager.Queue()
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                futures = [
                    pool.submit(
                        _make_part, refs, replace(options, shard=(i, workers)), texts, part, queue
                    )
                    for i, part in enumerate(parts, 1)
                ]
                pending = set(futures)
                while pending:
                    done, pending = wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
                    _drain(queue, progress)
                    failed = [f for f in done if f.exception() is not None]
                    if failed:
                        for future in pending:
                            future.cancel()
                        raise failed[0].exception()  # type: ignore[misc]
                _drain(queue, progress)
                skipped = futures[0].result()[1]
        merged = merge_exports(parts, out, force=True)
        manifest = dict(merged.manifest)
        manifest["workers"] = workers
        manifest["source_refs"] = list(source_refs if source_refs is not None else refs)
        manifest["skipped_text"] = {"count": len(skipped), "examples": skipped[:10]}
        write_json_atomic(out / "manifest.json", manifest)
        return ExportSummary(merged.written, skipped, manifest)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _drain(queue: Any, progress: Callable[[int], None] | None) -> None:
    while True:
        try:
            n = queue.get_nowait()
        except (Empty, OSError, EOFError):
            return
        if progress is not None:
            progress(n)
