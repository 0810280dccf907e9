"""notifications table: the outbox of email notifications (see 0003_notifications.sql)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from .db import fetch_all, fetch_one
from .filters import Where, fetch_page, listing
from .paging import Page
from .records import as_enums, columns


class NotificationStatus(StrEnum):
    """Where a notification stands (migration 0003's CHECK); the delivery worker only ever
    claims pending and failed rows."""

    PENDING = "pending"
    FAILED = "failed"  # tried, tried again at next_attempt_at
    SENT = "sent"
    ABANDONED = "abandoned"  # out of attempts
    SKIPPED = "skipped"  # recorded while email was disabled: never sent


# Finished rows: never claimed again, removed by retention.
FINISHED = (NotificationStatus.SENT, NotificationStatus.SKIPPED, NotificationStatus.ABANDONED)


@dataclass(frozen=True)
class NotificationRow:
    id: UUID
    kind: str
    recipient: str
    account_id: UUID | None
    context: dict[str, Any]
    status: NotificationStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime

    def __post_init__(self) -> None:
        as_enums(self, status=NotificationStatus)


_COLS = columns(NotificationRow)

# One row per recipient, all due at %(now)s.
INSERT = f"""
INSERT INTO notifications (id, kind, recipient, account_id, context, status, next_attempt_at,
                           created_at, updated_at)
SELECT gen_random_uuid(), %(kind)s, r.recipient, %(account_id)s, %(context)s, %(status)s,
       %(now)s, %(now)s, %(now)s
FROM unnest(%(recipients)s::text[]) WITH ORDINALITY AS r (recipient, n)
ORDER BY r.n
RETURNING {_COLS}
"""

# Due rows, locked for this transaction; rows another transaction holds are skipped.
CLAIM_DUE = f"""
SELECT {_COLS} FROM notifications
WHERE status IN ('pending', 'failed') AND next_attempt_at <= %(now)s
ORDER BY next_attempt_at, id LIMIT %(limit)s
FOR UPDATE SKIP LOCKED
"""

# pending|failed → sent.
MARK_SENT = f"""
UPDATE notifications
SET status = 'sent', attempts = attempts + 1, sent_at = %(now)s, last_error = NULL,
    updated_at = %(now)s
WHERE id = %(id)s AND status IN ('pending', 'failed')
RETURNING {_COLS}
"""

# pending|failed → failed (again at %(next_attempt_at)s) or abandoned (%(status)s says which).
MARK_FAILED = f"""
UPDATE notifications
SET status = %(status)s, attempts = attempts + 1, last_error = %(error)s,
    next_attempt_at = COALESCE(%(next_attempt_at)s, next_attempt_at), updated_at = %(now)s
WHERE id = %(id)s AND status IN ('pending', 'failed')
RETURNING {_COLS}
"""

# Newest first, for admin views and tests: {where} is filled in by list_notifications.
LIST = f"""
SELECT {_COLS} FROM notifications WHERE {{where}}
ORDER BY created_at DESC, id LIMIT %(limit)s
"""

GET = f"""
SELECT {_COLS} FROM notifications WHERE id = %(id)s
"""

# failed|abandoned → pending, due now, attempts reset.
REQUEUE = f"""
UPDATE notifications
SET status = 'pending', attempts = 0, next_attempt_at = %(now)s, updated_at = %(now)s
WHERE id = %(id)s AND status IN ('failed', 'abandoned')
RETURNING {_COLS}
"""

REQUEUE_FAILED = """
UPDATE notifications
SET status = 'pending', attempts = 0, next_attempt_at = %(now)s, updated_at = %(now)s
WHERE id IN (SELECT id FROM notifications WHERE status IN ('failed', 'abandoned')
             ORDER BY created_at LIMIT %(limit)s)
"""

DELETE_FINISHED = """
DELETE FROM notifications WHERE id IN (
    SELECT id FROM notifications
    WHERE status = ANY(%(statuses)s) AND updated_at < %(before)s
    ORDER BY updated_at LIMIT %(limit)s)
"""


def insert_notifications(
    conn: psycopg.Connection,
    *,
    kind: str,
    recipients: Sequence[str],
    account_id: UUID | None,
    context: dict[str, Any],
    status: NotificationStatus,
    now: datetime,
) -> list[NotificationRow]:
    """One row per recipient, all due at `now` (one statement)."""
    if not recipients:
        return []
    return fetch_all(conn, NotificationRow, INSERT, {
        "kind": kind, "recipients": list(recipients), "account_id": account_id,
        "context": Jsonb(context), "status": status, "now": now,
    })


def claim_due(conn: psycopg.Connection, now: datetime, limit: int) -> list[NotificationRow]:
    """Lock up to `limit` due rows for this transaction; rows another transaction holds are
    skipped, so two deliverers never claim the same row (must run inside a transaction)."""
    return fetch_all(conn, NotificationRow, CLAIM_DUE, {"now": now, "limit": limit})


def mark_sent(conn: psycopg.Connection, notification_id: UUID, now: datetime) -> NotificationRow | None:
    """pending|failed → sent; None when the row was not due."""
    return fetch_one(conn, NotificationRow, MARK_SENT, {"now": now, "id": notification_id})


def mark_failed(
    conn: psycopg.Connection,
    notification_id: UUID,
    *,
    error: str,
    now: datetime,
    next_attempt_at: datetime | None,
) -> NotificationRow | None:
    """pending|failed → failed (retry at `next_attempt_at`) or → abandoned (when it is None)."""
    status = NotificationStatus.FAILED if next_attempt_at is not None else NotificationStatus.ABANDONED
    return fetch_one(conn, NotificationRow, MARK_FAILED, {
        "status": status, "error": error, "next_attempt_at": next_attempt_at, "now": now,
        "id": notification_id,
    })


def list_notifications(
    conn: psycopg.Connection,
    *,
    kind: str | None = None,
    status: str | None = None,
    account_id: UUID | None = None,
    limit: int = 100,
) -> list[NotificationRow]:
    """Newest first, optionally filtered (admin views, tests)."""
    where = Where().equal("kind", kind).equal("status", status).equal("account_id", account_id)
    return fetch_all(conn, NotificationRow, listing(LIST, where), where.params | {"limit": limit})


# --- admin API: paged listing and operator-requested redelivery (acmeeh.authority.redelivery) ---
def list_page(
    conn: psycopg.Connection,
    page: Page,
    *,
    status: str | None = None,
    kind: str | None = None,
    account_id: UUID | None = None,
) -> list[NotificationRow]:
    """Newest first by (created_at, id), limit + 1 rows (keyset pagination)."""
    where = Where().equal("status", status).equal("kind", kind).equal("account_id", account_id)
    return fetch_page(conn, NotificationRow, "notifications", page, where)


def get_notification(conn: psycopg.Connection, notification_id: UUID) -> NotificationRow | None:
    return fetch_one(conn, NotificationRow, GET, {"id": notification_id})


def requeue(conn: psycopg.Connection, notification_id: UUID, now: datetime) -> NotificationRow | None:
    """failed|abandoned → pending, due now, attempts reset; None when it was neither."""
    return fetch_one(conn, NotificationRow, REQUEUE, {"now": now, "id": notification_id})


def requeue_failed(conn: psycopg.Connection, now: datetime, limit: int) -> int:
    """requeue() for up to `limit` failed or abandoned rows; returns how many."""
    return conn.execute(REQUEUE_FAILED, {"now": now, "limit": limit}).rowcount


def delete_finished(
    conn: psycopg.Connection, statuses: Sequence[str], before: datetime, limit: int
) -> int:
    """Delete up to `limit` rows in one of `statuses` (finished ones only: sent, skipped,
    abandoned) whose last change is older than `before`; returns how many."""
    wanted = [s for s in statuses if s in FINISHED]
    if not wanted:
        return 0
    return conn.execute(DELETE_FINISHED,
                        {"statuses": wanted, "before": before, "limit": limit}).rowcount
