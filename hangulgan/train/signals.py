"""Ctrl-C and SIGTERM during training: finish the step, save, stop."""

from __future__ import annotations

import signal
import threading
from typing import Any


class StopRequest:
    """Turns the first SIGINT/SIGTERM into a flag checked between steps.

    The step in flight finishes, a checkpoint is written, and the run stops. A second
    Ctrl-C raises KeyboardInterrupt at once (without saving).
    """

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal = signum

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
