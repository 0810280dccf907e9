"""Operator actions on the notification outbox: failed or abandoned notifications go back to
the outbox, due now, with a fresh retry budget (the delivery worker sends them on its next
tick); finished ones (sent, skipped, abandoned) can be purged."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from ..store import outbox
from ..store.outbox import NotificationRow
from .env import Env
from .outboxes import requeued

# One request requeues at most this many rows; repeat it for more.
MAX_REQUEUE = 10000
# A purge deletes in batches of PURGE_BATCH rows, at most PURGE_BATCHES of them per call.
PURGE_BATCH = 1000
PURGE_BATCHES = 100


def retry(env: Env, notification_id: uuid.UUID) -> NotificationRow:
    """failed|abandoned → pending. 404 unknown, 409 in any other status."""
    with env.pool.connection() as conn, conn.transaction():
        row = requeued(outbox.requeue(conn, notification_id, env.clock()),
                       lambda: outbox.get_notification(conn, notification_id),
                       missing="no such notification", what="notification",
                       wanted="failed or abandoned")
    env.log.info("notification requeued", extra={"notification_id": str(notification_id)})
    return row


def retry_failed(env: Env) -> int:
    """Requeue every failed and abandoned notification (at most MAX_REQUEUE); how many."""
    with env.pool.connection() as conn:
        count = outbox.requeue_failed(conn, env.clock(), MAX_REQUEUE)
    env.log.info("failed notifications requeued", extra={"count": count})
    return count


def purge_before(env: Env, statuses: Sequence[str], before: datetime, *,
                 batch: int = PURGE_BATCH, max_batches: int = PURGE_BATCHES) -> int:
    """Delete finished notifications in `statuses` last changed before `before`, in bounded
    batches (one transaction each); how many. Pending and failed rows are never touched."""
    deleted = 0
    for _ in range(max_batches):
        with env.pool.connection() as conn:
            done = outbox.delete_finished(conn, statuses, before, batch)
        deleted += done
        if done < batch:
            break
    return deleted


def purge(env: Env, statuses: Sequence[str], older_than_days: int) -> int:
    """An operator's purge: finished notifications older than `older_than_days` (0: all)."""
    before = env.clock() - timedelta(days=older_than_days)
    deleted = purge_before(env, statuses, before)
    env.log.info("notifications purged", extra={"count": deleted, "statuses": list(statuses)})
    return deleted
