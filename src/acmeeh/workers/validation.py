"""Runs challenge validations off the request thread, a bounded number at a time."""
from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger("acmeeh.workers.validation")


class ValidationRunner:
    """A thread pool that calls `validate(challenge_id)` for each dispatched challenge.

    The callable is bound after construction because it needs the env that holds this
    runner's `submit` as its dispatcher.
    """

    def __init__(self, threads: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="acmeeh-validate")
        self._validate: Callable[[uuid.UUID], None] | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.in_flight: set[uuid.UUID] = set()

    def bind(self, validate: Callable[[uuid.UUID], None]) -> None:
        self._validate = validate

    def submit(self, challenge_id: uuid.UUID) -> None:
        with self._lock:
            if self._closed:
                # Shutting down: the challenge stays in processing and is recovered as stale.
                log.warning("validation not started, shutting down", extra={"challenge_id": str(challenge_id)})
                return
            self.in_flight.add(challenge_id)
        self._executor.submit(self._run, challenge_id)

    def _run(self, challenge_id: uuid.UUID) -> None:
        try:
            assert self._validate is not None, "ValidationRunner.bind was not called"
            self._validate(challenge_id)
        except Exception:
            log.exception("validation failed", extra={"challenge_id": str(challenge_id)})
        finally:
            with self._lock:
                self.in_flight.discard(challenge_id)

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=wait, cancel_futures=True)
