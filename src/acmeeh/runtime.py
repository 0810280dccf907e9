"""What runs beside the requests of one process: start() and shutdown().

create_app only builds; `start(app)` starts the validation runner's threads, and with
`loops` the background loops (leader-elected through advisory locks) and the pool sampler.
The gunicorn worker hook (post_worker_init), the development server and the WSGI entry point
call it once per process; tests that need no background work build the app and never start
it. The loops come with the revocation listener that lets OCSP answer from memory. `Runtime.shutdown` stops everything within a deadline and closes the pool.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol
from uuid import UUID

from .authority import drain
from .authority.env import Env
from .authority.ocsp_states import StateCache
from .store import db
from .store.db import Pool
from .workers.pool_gauges import PoolSampler
from .workers.revocation_listener import RevocationListener
from .workers.supervisor import Supervisor
from .workers.validation import ValidationRunner

log = logging.getLogger("acmeeh")


@dataclass
class Runtime:
    """What create_app built for this process, its lifecycle state, and what shutdown closes."""

    env: Env
    pool: Pool
    runner: ValidationRunner
    supervisor: Supervisor | None = None
    sampler: PoolSampler | None = None  # this process's pool in the metrics
    ocsp_states: StateCache | None = None  # the OCSP responder's, with ocsp.listen_for_revocations
    listener: RevocationListener | None = None  # keeps ocsp_states true (started with the loops)
    started: bool = False  # create_app finished: /readyz may answer ready
    running: bool = False  # start() ran: validations run here (and the loops, if asked)
    shutting_down: bool = False  # a stop began: /readyz answers 503
    started_at: float = field(default_factory=time.time)
    stopping_since: float | None = None  # time.monotonic() when the stop began
    _closed: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def start(self, *, loops: bool = True) -> Runtime:
        """Start the validation runner and, with `loops`, the background loops and the pool
        sampler. Idempotent; refused (RuntimeError) after a shutdown began."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the runtime was shut down")
            if self.running:
                return self
            self.running = True
        self.runner.start(self.env)
        if loops:  # advisory locks pick one leader per loop among instances
            conninfo = db.conninfo(self.env.settings.database)
            self.supervisor = Supervisor(self.env, conninfo=conninfo).start()
            self.sampler = PoolSampler(self.pool).start()
            if self.ocsp_states is not None:
                self.listener = RevocationListener(
                    self.ocsp_states, conninfo,
                    connect_timeout=self.env.settings.database.connect_timeout,
                ).start()
        return self

    def begin_shutdown(self) -> None:
        """Stop being ready; requests in flight go on. Only sets flags (safe in a signal handler)."""
        if self.stopping_since is None:
            self.stopping_since = time.monotonic()
        self.shutting_down = True

    def shutdown(self, timeout: float = 10.0) -> list[UUID]:
        """Stop within about `timeout` seconds (idempotent): stop the background loops (their
        locks go to another instance), let running validations finish until the deadline, put
        the challenges still validating back to pending, close the pool. Returns those put back.
        """
        with self._lock:
            if self._closed:
                return []
            self._closed = True
        self.begin_shutdown()
        deadline = time.monotonic() + max(0.0, timeout)
        if self.supervisor is not None:  # first: its ticks dispatch validations and use the pool
            self.supervisor.stop(timeout=max(0.5, deadline - time.monotonic()))
        while self.runner.busy and time.monotonic() < deadline:  # bounded by the deadline
            time.sleep(0.05)
        self.runner.shutdown(wait=False)  # refuses new validations, cancels queued ones
        if self.sampler is not None:
            self.sampler.stop()
        if self.listener is not None:
            self.listener.stop()
        left, released = set(self.runner.in_flight), []
        if left:
            try:
                released = drain.release_challenges(self.env, left)
            except db.DatabaseError as exc:
                log.warning("shutdown: %d challenges stay processing (database: %s); the challenge"
                            " worker re-queues them once stale", len(left), type(exc).__name__)
        self.pool.close(timeout=1.0)
        log.info("shutdown complete", extra={"released_challenges": len(released)})
        return released


class Hosted(Protocol):
    """An application that carries its Runtime (acmeeh.app.AcmeehApp)."""

    runtime: Runtime


def start(app: Hosted, *, loops: bool = True) -> Runtime:
    """Start what runs beside the requests of `app` in this process (see Runtime.start)."""
    return app.runtime.start(loops=loops)
