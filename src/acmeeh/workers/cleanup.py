"""Cleanup worker: independent maintenance tasks, each on its own interval, one leader at a time.

The loop wakes every min(task intervals); each task remembers when it last ran and runs only
when its own interval has passed. A task works in batches of `retention.batch_size` rows and
stops after MAX_BATCHES per run, so one run is bounded however large the backlog.

To add a task, append a `Task` to TASKS with a `run(env, limit) -> (found, done)` that calls
an authority function.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from .. import metrics
from ..authority import intents, ratelimits, recovery, retention
from ..authority.env import Env

log = logging.getLogger("acmeeh.workers.cleanup")

MAX_BATCHES = 10
Outcome = tuple[int, int]  # (rows found in this batch, rows changed or deleted)


@dataclass(frozen=True)
class Task:
    """One maintenance job: `interval(settings)` seconds apart, when `enabled(settings)`."""

    name: str
    interval: Callable[[Any], float]
    run: Callable[[Env, int], Outcome]
    enabled: Callable[[Any], bool] = lambda settings: True


def _each(ids: list[UUID], move: Callable[[UUID], bool]) -> Outcome:
    return len(ids), sum(1 for i in ids if move(i))


def _nonces(env: Env, limit: int) -> Outcome:
    deleted = recovery.purge_nonces(env, limit=limit)
    return deleted, deleted


def _rate_limits(env: Env, limit: int) -> Outcome:
    deleted = ratelimits.purge_expired(env, limit=limit)
    return deleted, deleted


def _orders_expiry(env: Env, limit: int) -> Outcome:
    return _each(recovery.find_expired_orders(env, limit=limit), lambda i: recovery.expire_order(env, i))


def _stale_processing(env: Env, limit: int) -> Outcome:
    threshold = env.settings.order.stale_processing_threshold_seconds
    ids = recovery.find_stale_processing_orders(env, threshold_seconds=threshold, limit=limit)
    return _each(ids, lambda i: intents.recover(env, i))


def _authz_expiry(env: Env, limit: int) -> Outcome:
    ids = recovery.find_expired_authorizations(env, limit=limit)
    return _each(ids, lambda i: recovery.expire_authorization(env, i))


def _retention(env: Env, limit: int) -> Outcome:
    cfg = env.settings.retention
    # Orders first: deleting them unlinks their authorizations, which may then go as well.
    orders = recovery.purge_old_orders(env, days=cfg.orders_days, limit=limit)
    authzs = recovery.purge_old_authorizations(env, days=cfg.authorizations_days, limit=limit)
    return max(orders, authzs), orders + authzs


def _deleting(purge: Callable[..., int]) -> Callable[[Env, int], Outcome]:
    def run(env: Env, limit: int) -> Outcome:
        deleted = purge(env, limit=limit)
        return deleted, deleted
    return run


def _retained(settings: Any) -> bool:
    return bool(settings.retention.enabled)


TASKS: tuple[Task, ...] = (
    Task("nonces", lambda s: s.nonce.gc_interval_seconds, _nonces),
    # Always on: counters left from a time when limits were enabled still go.
    Task("rate_limits", lambda s: s.security.rate_limits.gc_interval_seconds, _rate_limits),
    Task("orders_expiry", lambda s: s.order.cleanup_interval_seconds, _orders_expiry),
    Task("stale_processing", lambda s: min(s.order.cleanup_interval_seconds,
                                           s.order.stale_processing_threshold_seconds), _stale_processing),
    Task("authz_expiry", lambda s: s.order.cleanup_interval_seconds, _authz_expiry),
    Task("retention", lambda s: s.retention.interval_seconds, _retention, enabled=_retained),
    Task("notification_retention", lambda s: s.retention.interval_seconds,
         _deleting(retention.purge_notifications), enabled=_retained),
    Task("webhook_retention", lambda s: s.retention.interval_seconds,
         _deleting(retention.purge_webhook_deliveries), enabled=_retained),
    Task("admin_token_retention", lambda s: s.retention.interval_seconds,
         _deleting(retention.purge_admin_tokens), enabled=_retained),
    Task("audit_retention", lambda s: s.retention.interval_seconds,
         _deleting(retention.purge_audit),
         enabled=lambda s: _retained(s) and s.retention.audit_days is not None),
)


class CleanupWorker:
    """Runs the enabled TASKS that are due; `tick` is the LeaderLoop body."""

    def __init__(self, env: Env, *, tasks: Iterable[Task] = TASKS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.env = env
        self.tasks = [t for t in tasks if t.enabled(env.settings)]
        self.clock = clock
        self.batch_size: int = env.settings.retention.batch_size
        self.last_run: dict[str, float] = {}

    @property
    def interval(self) -> float:
        """How often the loop wakes: the shortest task interval (an hour when none is enabled)."""
        return min((float(t.interval(self.env.settings)) for t in self.tasks), default=3600.0)

    def due(self) -> list[Task]:
        now = self.clock()
        return [t for t in self.tasks
                if t.name not in self.last_run
                or now - self.last_run[t.name] >= t.interval(self.env.settings)]

    def tick(self) -> dict[str, int]:
        """Run every due task; returns rows handled per task that ran (-1 when it failed)."""
        return {task.name: self.run_task(task) for task in self.due()}

    def run_task(self, task: Task) -> int:
        """Run one task now (bounded batches); errors are logged and counted, never raised."""
        self.last_run[task.name] = self.clock()
        done = 0
        try:
            for _ in range(MAX_BATCHES):
                found, changed = task.run(self.env, self.batch_size)
                done += changed
                if found < self.batch_size:
                    break
        except Exception:
            metrics.CLEANUP_ERRORS.labels(task=task.name).inc()
            log.exception("cleanup task %s failed", task.name, extra={"task": task.name})
            return -1
        metrics.CLEANUP_RUNS.labels(task=task.name).inc()
        (log.info if done else log.debug)("cleanup task %s: %d rows", task.name, done,
                                          extra={"task": task.name})
        return done
