"""Each process's connection pool in the acmeeh_db_pool_* metrics, sampled on a thread.

Every gunicorn worker has its own pool and a scrape is answered by one of them, so each worker
publishes its own figures: the gauges are summed over the live workers (multiprocess mode
livesum), and the counters move by what the pool counted since the previous sample. Not a
leader loop: every process samples its own pool, every SAMPLE_SECONDS, until stopped.
"""
from __future__ import annotations

import logging
from typing import Self

from .. import metrics
from ..store import db
from ..store.db import Pool
from .thread import HelperThread

log = logging.getLogger("acmeeh.workers.pool_gauges")

SAMPLE_SECONDS = 5.0


class PoolSampler(HelperThread):
    """Publishes `pool`'s usage now (`sample`) and then every `interval` seconds (`start`)."""

    name = "pool-gauges"

    def __init__(self, pool: Pool, interval: float = SAMPLE_SECONDS) -> None:
        super().__init__()
        self.pool = pool
        self.interval = interval
        self._last = db.PoolUsage()

    def sample(self) -> db.PoolUsage:
        """Set the gauges and advance the counters from the pool's statistics."""
        usage = db.pool_usage(self.pool)
        metrics.DB_POOL_IN_USE.set(usage.in_use)
        metrics.DB_POOL_OPEN.set(usage.open)
        metrics.DB_POOL_MAX.set(usage.max)
        metrics.DB_POOL_WAITING.set(usage.waiting)
        # The pool's counters only grow; max() guards against a pool that reset its statistics.
        metrics.DB_POOL_WAITS.inc(max(0, usage.waits - self._last.waits))
        metrics.DB_POOL_WAIT_SECONDS.inc(max(0, usage.wait_ms - self._last.wait_ms) / 1000)
        metrics.DB_POOL_TIMEOUTS.inc(max(0, usage.timeouts - self._last.timeouts))
        self._last = usage
        return usage

    def start(self) -> Self:
        self.sample()
        return super().start()  # the thread only sleeps between samples: stop() is quick

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sample()
            except Exception:  # noqa: BLE001 - a closed pool at shutdown; never end the thread
                log.debug("pool sample failed", exc_info=True)
