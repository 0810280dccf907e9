"""A per-process helper thread: started once, stopped within its wait slice.

Not a leader loop (those are workers.loop under the supervisor): every process runs its own.
"""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import Self


class HelperThread(ABC):
    """Runs `_run` on one daemon thread named `name` until `stop()` sets `_stop`."""

    name = "helper"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 1.0) -> None:
        """Ask the thread to end and wait for it at most `timeout` seconds; idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @abstractmethod
    def _run(self) -> None:
        """The thread's work: return once `_stop` is set (wait on it, bounded)."""
