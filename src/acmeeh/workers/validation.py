"""Runs challenge validations off the request thread: a bounded queue, a bounded number at once.

The runner owns each challenge it accepted until the validation is recorded: waiting in the
queue, running, or waiting for a retry (RFC 8555 §8.2). While it owns them it renews their
`processing_since` every `heartbeat_seconds`, so the challenge worker, which re-dispatches
challenges left in processing by a dead instance, never takes one that is still queued on a
live instance. A validation that fails because the database is unavailable is run again a
few times (backoff) before the runner lets go of the challenge; the challenge worker then
finds it once it is stale.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from ..authority.env import Env, ValidationQueueFull
from ..store import db

log = logging.getLogger("acmeeh.workers.validation")

# A validation that hit an unavailable database runs again after 1, 2, 4, 8, 16 s.
DATABASE_RETRIES = 5


class ValidationRunner:
    """A thread pool that calls `validate(env, challenge_id)` for each dispatched challenge,
    and `keep_alive(env, challenge_ids)` for those it owns every `heartbeat_seconds`.

    `capacity` bounds the challenges owned at once (queued, running or waiting for a retry);
    `submit` raises ValidationQueueFull beyond it. The env arrives with `start(env)`: the env
    holds this runner's `submit` as its dispatcher, so it is built after the runner.
    """

    def __init__(self, threads: int, *, capacity: int, heartbeat_seconds: float,
                 validate: Callable[[Env, uuid.UUID], None],
                 keep_alive: Callable[[Env, list[uuid.UUID]], object],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="acmeeh-validate")
        self.capacity = capacity
        self._heartbeat = heartbeat_seconds
        self._clock = clock
        self._validate = validate
        self._keep_alive = keep_alive
        self._env: Env | None = None
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._closed = False
        self._timer: threading.Thread | None = None
        self.in_flight: set[uuid.UUID] = set()  # owned: queued, running or waiting
        self._due: dict[uuid.UUID, float] = {}  # waiting: when to run again
        self._failures: dict[uuid.UUID, int] = {}  # runs that met an unavailable database

    def start(self, env: Env) -> None:
        """Run validations in `env` from now on (runtime.start calls it once per process)."""
        with self._lock:
            self._env = env

    @property
    def busy(self) -> set[uuid.UUID]:
        """Owned challenges queued or running now (not those waiting for a retry)."""
        with self._lock:
            return self.in_flight - self._due.keys()

    def submit(self, challenge_id: uuid.UUID, delay: float = 0.0) -> None:
        """Validate `challenge_id` now (queued), or after `delay` seconds (a retry).

        Raises ValidationQueueFull when a new challenge would exceed `capacity`; a challenge
        this runner owns already is not queued twice.
        """
        with self._lock:
            if self._closed:
                # Shutting down: the challenge stays in processing and is recovered as stale.
                log.warning("validation not started, shutting down", extra={"challenge_id": str(challenge_id)})
                return
            if self._env is None:
                raise RuntimeError("the validation runner was not started (runtime.start)")
            owned = challenge_id in self.in_flight
            if not owned and len(self.in_flight) >= self.capacity:
                raise ValidationQueueFull(f"{len(self.in_flight)} validations in progress")
            self.in_flight.add(challenge_id)
            self._start_timer()
            if delay > 0:
                self._due[challenge_id] = self._clock() + delay
                self._wake.notify()
                return
            if owned and challenge_id not in self._due:
                return  # queued or running already
            self._due.pop(challenge_id, None)
        self._executor.submit(self._run, challenge_id)

    def _run(self, challenge_id: uuid.UUID) -> None:
        env = self._env
        try:
            assert env is not None, "submit refuses challenges before start"
            self._validate(env, challenge_id)
        except db.Unavailable as exc:
            if self._again_later(challenge_id):
                log.warning("validation postponed: database unavailable (%s)", type(exc).__name__,
                            extra={"challenge_id": str(challenge_id)})
                return
            log.error("validation abandoned: database unavailable; the challenge worker"
                      " re-queues it once stale", extra={"challenge_id": str(challenge_id)})
        except Exception:
            log.exception("validation failed", extra={"challenge_id": str(challenge_id)})
        finally:
            with self._lock:
                if challenge_id not in self._due:  # done, unless a retry was scheduled
                    self.in_flight.discard(challenge_id)
                    self._failures.pop(challenge_id, None)

    def _again_later(self, challenge_id: uuid.UUID) -> bool:
        with self._lock:
            failures = self._failures.get(challenge_id, 0)
            if self._closed or failures >= DATABASE_RETRIES:
                return False
            self._failures[challenge_id] = failures + 1
            self._due[challenge_id] = self._clock() + 2.0 ** failures
            self._wake.notify()
            return True

    # --- the timer: retries that are due, and the heartbeat --------------------------------
    def _start_timer(self) -> None:
        """Start the timer thread on first use (the lock is held)."""
        if self._timer is None:
            self._timer = threading.Thread(target=self._timer_loop, name="acmeeh-validate-timer",
                                           daemon=True)
            self._timer.start()

    def _timer_loop(self) -> None:
        next_beat = self._clock() + self._heartbeat
        while True:  # ends when the runner is shut down
            with self._lock:
                if self._closed:
                    return
                now = self._clock()
                due = [cid for cid, at in self._due.items() if at <= now]
                for cid in due:
                    del self._due[cid]
                owned = list(self.in_flight) if now >= next_beat else None
            for cid in due:
                self._executor.submit(self._run, cid)
            if owned is not None:
                next_beat = now + self._heartbeat
                self._beat(owned)
            with self._lock:
                if self._closed:
                    return
                wake = min([next_beat, *self._due.values()])
                self._wake.wait(max(0.01, wake - self._clock()))

    def _beat(self, owned: Iterable[uuid.UUID]) -> None:
        ids = list(owned)
        if not ids:
            return
        env = self._env
        if env is None:
            return
        try:
            self._keep_alive(env, ids)
        except Exception as exc:  # noqa: BLE001 - the next beat tries again; stale only after stale_seconds
            log.warning("validation heartbeat failed: %s", type(exc).__name__)

    def shutdown(self, wait: bool = True) -> None:
        """Refuse new validations, drop queued ones and stop the timer; in_flight keeps what
        this runner still owned (the caller puts those challenges back in line)."""
        with self._lock:
            self._closed = True
            self._wake.notify_all()
        self._executor.shutdown(wait=wait, cancel_futures=True)
