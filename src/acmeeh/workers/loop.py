"""LeaderLoop: a background thread that calls `tick()` every interval while it holds a lock.

Every instance runs the same loops; PostgreSQL advisory locks (store.locks) make exactly one
of them the leader per lock. The election and the work keep separate clocks: every instance
asks for (or confirms) the lock every `election_seconds`, a few seconds, whatever the work's
interval; the leader runs `tick()` at its own interval, and at once when it becomes leader.
So when a leader dies, another instance takes over within one election period even for a
task that runs once an hour. A brief overlap is possible (an old leader still inside a tick
when its session is cut), which is safe because every state move a tick makes is a
compare-and-set.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from .. import metrics
from ..store.locks import Leadership, LockConnectionError

log = logging.getLogger("acmeeh.workers")

# Reconnect backoff after the lock connection fails: doubles from the first value up to the
# cap, which defaults to the election period (so leadership returns within one period of the
# database coming back).
BACKOFF_FIRST_SECONDS = 1.0
# Election period when none is given: at most this, and never longer than the work's interval.
ELECTION_SECONDS = 2.0


class LeaderLoop:
    """Run `tick()` every `interval_seconds` on a daemon thread, only while leader of `lock_id`.

    The lock is tried (follower) or checked (leader) every `election_seconds` and before each
    tick; a new leader ticks at once. Exceptions from `tick` are logged with the worker name and counted
    (acmeeh_worker_errors_total); they never end the thread. Each tick that ran counts in
    acmeeh_worker_runs_total. `stop()` ends the loop after the current cycle, releases the
    lock and closes the lock connection.
    """

    def __init__(
        self,
        name: str,
        lock_id: int,
        interval_seconds: float,
        tick: Callable[[], object],
        *,
        conninfo: str,
        clock: Callable[[], float] = time.monotonic,
        leadership: Leadership | None = None,
        election_seconds: float | None = None,
        max_backoff_seconds: float | None = None,
    ) -> None:
        if interval_seconds <= 0:
            raise ValueError(f"{name}: interval_seconds must be positive")
        if election_seconds is not None and election_seconds <= 0:
            raise ValueError(f"{name}: election_seconds must be positive")
        self.name = name
        self.lock_id = lock_id
        self.interval = float(interval_seconds)
        self.election = float(election_seconds or min(ELECTION_SECONDS, self.interval))
        self._tick = tick
        self._clock = clock
        self._leadership = leadership or Leadership(conninfo, name=name)
        self._max_backoff = float(max_backoff_seconds or self.election)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Both series exist from the start (at 0), so rate() and the dashboard see every loop.
        metrics.WORKER_RUNS.labels(worker=name)
        metrics.WORKER_ERRORS.labels(worker=name)
        self._leader = False
        self.cycles = 0
        self.ticks = 0
        self.errors = 0

    # --- state -----------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        """The loop thread is running."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def is_leader(self) -> bool:
        """This instance held the lock at its last check."""
        return self._leader

    @property
    def backend_pid(self) -> int | None:
        """PostgreSQL pid of the session holding (or trying) the lock."""
        return self._leadership.backend_pid

    # --- life cycle ------------------------------------------------------------------------
    def start(self) -> LeaderLoop:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"acmeeh-{self.name}", daemon=True)
            self._thread.start()
        return self

    def request_stop(self) -> None:
        """Ask the loop to end after its current cycle (does not wait)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True when it has."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.alive

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop after the current cycle, release the lock; True when the thread ended in time."""
        self.request_stop()
        return self.join(timeout)

    # --- the loop --------------------------------------------------------------------------
    def _run(self) -> None:
        backoff = 0.0
        due: float | None = None  # when the next tick is due; None: at once (a new leader)
        try:
            while not self._stop.is_set():
                try:
                    leading = self._ensure_leadership()
                except LockConnectionError as exc:
                    self._set_leader(False)
                    due = None
                    backoff = min(self._max_backoff,
                                  backoff * 2 if backoff else min(BACKOFF_FIRST_SECONDS, self._max_backoff))
                    log.warning("worker %s: %s; retrying in %.1fs", self.name, exc, backoff)
                    self._stop.wait(backoff)
                    continue
                backoff = 0.0
                self.cycles += 1
                now = self._clock()
                if not leading:
                    due = None
                elif due is None or now >= due:
                    due = now + self.interval  # the work's cadence counts from the tick's start
                    self._run_tick()
                log.debug("worker %s: cycle %d done (leader=%s)", self.name, self.cycles, leading)
                wake = now + self.election
                if due is not None:
                    wake = min(wake, due)
                self._stop.wait(max(0.0, wake - self._clock()))
        finally:
            self._leadership.close()
            self._set_leader(False)
            log.info("worker %s stopped", self.name)

    def _ensure_leadership(self) -> bool:
        if self._leader and self._leadership.check():
            return True
        if self._leader:
            self._set_leader(False)
        self._set_leader(self._leadership.try_acquire(self.lock_id))
        return self._leader

    def _set_leader(self, leading: bool) -> None:
        if leading != self._leader:
            self._leader = leading
            if leading:
                log.info("worker %s: became leader (lock %d)", self.name, self.lock_id)
            else:
                log.info("worker %s: no longer leader (lock %d)", self.name, self.lock_id)

    def _run_tick(self) -> None:
        try:
            self._tick()
        except Exception:
            self.errors += 1
            metrics.WORKER_ERRORS.labels(worker=self.name).inc()
            log.exception("worker %s: cycle failed", self.name, extra={"worker": self.name})
        finally:
            self.ticks += 1
            metrics.WORKER_RUNS.labels(worker=self.name).inc()
