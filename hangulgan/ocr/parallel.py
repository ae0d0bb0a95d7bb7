"""``ocr-export --workers N``: the shards of one run made side by side, then merged.

Worker *i* makes shard *i/N* (:attr:`ExportOptions.shard`) into a hidden folder beside
``OUT``, and :func:`~hangulgan.ocr.merge.merge_exports` joins the parts into ``OUT``, so
``--workers N`` writes exactly what ``--shard 1/N`` … ``--shard N/N`` merged would. The
samples therefore depend on N (each shard draws from its own random stream); the splits
do not.

Workers are spawned, not forked: a forked child of a process that has run torch's thread
pool can hang. Each opens the sources from their :class:`~hangulgan.ocr.sources.SourceSpec`
(font files; glyph sets and drawn styles were built into fonts once, before).
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

from hangulgan.errors import ConfigError
from hangulgan.io import write_json_atomic
from hangulgan.ocr.export import ExportOptions, ExportSummary, export
from hangulgan.ocr.sources import SourceSpec, open_fallback, open_spec

MAX_WORKERS = 256


def _make_part(
    specs: list[SourceSpec],
    fallback: str | None,
    options: ExportOptions,
    texts: list[str] | None,
    out: str,
    queue: Any,
) -> tuple[dict[str, int], list[str], int]:
    """One worker: open the sources and write one shard (progress through ``queue``)."""
    faces = open_fallback(fallback)
    sources = [open_spec(spec, faces) for spec in specs]
    summary = export(sources, out, options, texts, progress=queue.put)
    return summary.written, summary.skipped, summary.too_wide


def export_parallel(
    specs: Sequence[SourceSpec],
    fallback: str | None,
    out: str | Path,
    options: ExportOptions,
    workers: int,
    texts: list[str] | None = None,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
    source_refs: Sequence[str] = (),
    source_records: Sequence[dict[str, Any]] = (),
) -> ExportSummary:
    """Make the run ``options`` describes in ``workers`` processes and merge it into ``out``.

    ``specs`` are the sources (:func:`~hangulgan.ocr.sources.resolve`), ``fallback`` the
    ``--fallback-font``. ``force`` replaces ``out`` when it holds an earlier OCR dataset
    (the merge's rule). ``source_refs`` and ``source_records`` are recorded in the
    manifest."""
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
        parts = [str(scratch / f"part-{i:03d}") for i in range(1, workers + 1)]
        context = multiprocessing.get_context("spawn")
        with context.Manager() as manager:
            queue = manager.Queue()
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                futures = [
                    pool.submit(
                        _make_part,
                        list(specs),
                        fallback,
                        replace(options, shard=(i, workers)),
                        texts,
                        part,
                        queue,
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
                too_wide = sum(f.result()[2] for f in futures)
        merged = merge_exports(parts, out, force=True)
        manifest = dict(merged.manifest)
        manifest["workers"] = workers
        manifest["source_refs"] = list(source_refs)
        if source_records:
            manifest["sources"] = list(source_records)
        manifest["skipped_text"] = {"count": len(skipped), "examples": skipped[:10]}
        write_json_atomic(out / "manifest.json", manifest)
        return ExportSummary(merged.written, skipped, manifest, too_wide)
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
