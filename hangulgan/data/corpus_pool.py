"""The render worker processes: faces rendered in parallel, a crashing face isolated.

Workers are spawned (no fork after torch or FreeType state), die with the process that
started them, and report progress through a queue. A face whose worker dies (a crash
inside FreeType, the OOM killer) breaks the pool; the faces it took down are rendered
again one at a time, where a second death names the face, which is skipped.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from hangulgan.data.corpus_face import FaceOutcome, render_one_face
from hangulgan.data.corpus_manifest import RenderSettings
from hangulgan.data.face import FaceInfo, face_label
from hangulgan.errors import FontError

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


def render_parallel(
    todo: list[FaceInfo],
    settings: RenderSettings,
    out_dir: Path,
    workers: int,
    overall: Any,
    finish: Callable[[FaceInfo, FaceOutcome | FontError], FaceInfo | None],
    progress: bool,
) -> None:
    """Render ``todo`` in worker processes, calling ``finish`` with each face's outcome
    (which returns a copy of the face to render in place of a damaged one, or None);
    ``overall`` is the tqdm bar of all faces, and ``progress`` shows a bar per face.

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

    try:
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
    finally:
        # The pools are shut down (their with blocks); the queue's feeder thread and
        # semaphores go now too, not whenever the process ends.
        queue.close()
        queue.join_thread()
