"""Operator-requested redelivery: failed or abandoned notifications go back to the outbox,
due now, with a fresh retry budget; the delivery worker sends them on its next tick."""
from __future__ import annotations

import uuid

from ..protocol import problems
from ..store import outbox
from ..store.outbox import NotificationRow
from .env import Env

# One request requeues at most this many rows; repeat it for more.
MAX_REQUEUE = 10000


def retry(env: Env, notification_id: uuid.UUID) -> NotificationRow:
    """failed|abandoned → pending. 404 unknown, 409 in any other status."""
    with env.pool.connection() as conn, conn.transaction():
        row = outbox.requeue(conn, notification_id, env.clock())
        if row is None:
            current = outbox.get_notification(conn, notification_id)
            if current is None:
                raise problems.not_found("no such notification")
            raise problems.conflict(f"notification is {current.status}, not failed or abandoned")
    env.log.info("notification requeued", extra={"notification_id": str(notification_id)})
    return row


def retry_failed(env: Env) -> int:
    """Requeue every failed and abandoned notification (at most MAX_REQUEUE); how many."""
    with env.pool.connection() as conn:
        count = outbox.requeue_failed(conn, env.clock(), MAX_REQUEUE)
    env.log.info("failed notifications requeued", extra={"count": count})
    return count
