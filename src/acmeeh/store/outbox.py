"""notifications table: the outbox of email notifications (see 0003_notifications.sql)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from .db import fetch_all
from .filters import Where
from .paging import Page, order_by

# Statuses a row can hold; the delivery worker only ever claims pending and failed ones.
PENDING, FAILED, SENT, ABANDONED, SKIPPED = "pending", "failed", "sent", "abandoned", "skipped"


@dataclass(frozen=True)
class NotificationRow:
    id: UUID
    kind: str
    recipient: str
    account_id: UUID | None
    context: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime


_COLS = (
    "id, kind, recipient, account_id, context, status, attempts, next_attempt_at, last_error,"
    " sent_at, created_at, updated_at"
)


def _rows(conn: psycopg.Connection, query: str, params: tuple[Any, ...]) -> list[NotificationRow]:
    with conn.cursor(row_factory=class_row(NotificationRow)) as cur:
        return cur.execute(query, params).fetchall()  # type: ignore[arg-type]


def insert_notifications(
    conn: psycopg.Connection,
    *,
    kind: str,
    recipients: Sequence[str],
    account_id: UUID | None,
    context: dict[str, Any],
    status: str,
    now: datetime,
) -> list[NotificationRow]:
    """One row per recipient, all due at `now`."""
    if not recipients:
        return []
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(recipients))
    params: list[Any] = []
    for recipient in recipients:
        params += [uuid4(), kind, recipient, account_id, Jsonb(context), status, now, now, now]
    return _rows(
        conn,
        f"INSERT INTO notifications (id, kind, recipient, account_id, context, status,"
        f" next_attempt_at, created_at, updated_at) VALUES {values} RETURNING {_COLS}",
        tuple(params),
    )


def claim_due(conn: psycopg.Connection, now: datetime, limit: int) -> list[NotificationRow]:
    """Lock up to `limit` due rows for this transaction; rows another transaction holds are
    skipped, so two deliverers never claim the same row (must run inside a transaction)."""
    return _rows(
        conn,
        f"SELECT {_COLS} FROM notifications"
        f" WHERE status IN ('pending', 'failed') AND next_attempt_at <= %s"
        f" ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED",
        (now, limit),
    )


def mark_sent(conn: psycopg.Connection, notification_id: UUID, now: datetime) -> NotificationRow | None:
    """pending|failed → sent; None when the row was not due."""
    rows = _rows(
        conn,
        f"UPDATE notifications SET status = 'sent', attempts = attempts + 1, sent_at = %s,"
        f" last_error = NULL, updated_at = %s"
        f" WHERE id = %s AND status IN ('pending', 'failed') RETURNING {_COLS}",
        (now, now, notification_id),
    )
    return rows[0] if rows else None


def mark_failed(
    conn: psycopg.Connection,
    notification_id: UUID,
    *,
    error: str,
    now: datetime,
    next_attempt_at: datetime | None,
) -> NotificationRow | None:
    """pending|failed → failed (retry at `next_attempt_at`) or → abandoned (when it is None)."""
    status = FAILED if next_attempt_at is not None else ABANDONED
    rows = _rows(
        conn,
        f"UPDATE notifications SET status = %s, attempts = attempts + 1, last_error = %s,"
        f" next_attempt_at = COALESCE(%s, next_attempt_at), updated_at = %s"
        f" WHERE id = %s AND status IN ('pending', 'failed') RETURNING {_COLS}",
        (status, error, next_attempt_at, now, notification_id),
    )
    return rows[0] if rows else None


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
    return fetch_all(conn, NotificationRow,
                     f"SELECT {_COLS} FROM notifications WHERE {where}"
                     f" ORDER BY created_at DESC, id LIMIT %(limit)s",
                     where.params | {"limit": limit})


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
    where = (Where.after(page).equal("status", status).equal("kind", kind)
             .equal("account_id", account_id))
    return fetch_all(conn, NotificationRow,
                     f"SELECT {_COLS} FROM notifications WHERE {where} {order_by()}"
                     f" LIMIT %(limit)s", where.params | {"limit": page.limit + 1})


def get_notification(conn: psycopg.Connection, notification_id: UUID) -> NotificationRow | None:
    rows = _rows(conn, f"SELECT {_COLS} FROM notifications WHERE id = %s", (notification_id,))
    return rows[0] if rows else None


def requeue(conn: psycopg.Connection, notification_id: UUID, now: datetime) -> NotificationRow | None:
    """failed|abandoned → pending, due now, attempts reset; None when it was neither."""
    rows = _rows(
        conn,
        f"UPDATE notifications SET status = 'pending', attempts = 0, next_attempt_at = %s,"
        f" updated_at = %s WHERE id = %s AND status IN ('failed', 'abandoned') RETURNING {_COLS}",
        (now, now, notification_id),
    )
    return rows[0] if rows else None


def requeue_failed(conn: psycopg.Connection, now: datetime, limit: int) -> int:
    """requeue() for up to `limit` failed or abandoned rows; returns how many."""
    return conn.execute(
        "UPDATE notifications SET status = 'pending', attempts = 0, next_attempt_at = %s,"
        " updated_at = %s WHERE id IN (SELECT id FROM notifications"
        " WHERE status IN ('failed', 'abandoned') ORDER BY created_at LIMIT %s)",
        (now, now, limit),
    ).rowcount


FINISHED = (SENT, SKIPPED, ABANDONED)


def delete_finished(
    conn: psycopg.Connection, statuses: Sequence[str], before: datetime, limit: int
) -> int:
    """Delete up to `limit` rows in one of `statuses` (finished ones only: sent, skipped,
    abandoned) whose last change is older than `before`; returns how many."""
    wanted = [s for s in statuses if s in FINISHED]
    if not wanted:
        return 0
    return conn.execute(
        "DELETE FROM notifications WHERE id IN (SELECT id FROM notifications"
        " WHERE status = ANY(%s) AND updated_at < %s ORDER BY updated_at LIMIT %s)",
        (wanted, before, limit),
    ).rowcount
