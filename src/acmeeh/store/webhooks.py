"""webhooks and webhook_deliveries tables: subscriptions and the delivery outbox
(see 0012_webhooks_retention.sql)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from .db import fetch_all
from .filters import Where
from .paging import Page, order_by

PENDING, FAILED, DELIVERED, DEAD = "pending", "failed", "delivered", "dead"


@dataclass(frozen=True)
class WebhookRow:
    id: UUID
    url: str
    events: list[str]
    secret: str
    description: str
    enabled: bool
    created_by: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class DeliveryRow:
    id: UUID
    webhook_id: UUID
    event_id: UUID
    event: str
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    last_status: int | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class DueDelivery:
    """A claimed delivery with what sending it needs."""

    delivery: DeliveryRow
    url: str
    secret: str


_HOOK = "id, url, events, secret, description, enabled, created_by, created_at, updated_at"
_DELIVERY = ("id, webhook_id, event_id, event, payload, status, attempts, next_attempt_at,"
             " last_error, last_status, delivered_at, created_at, updated_at")


def _hooks(conn: psycopg.Connection, query: str, params: Any) -> list[WebhookRow]:
    with conn.cursor(row_factory=class_row(WebhookRow)) as cur:
        return cur.execute(query, params).fetchall()  # type: ignore[arg-type]


def _deliveries(conn: psycopg.Connection, query: str, params: Any) -> list[DeliveryRow]:
    with conn.cursor(row_factory=class_row(DeliveryRow)) as cur:
        return cur.execute(query, params).fetchall()  # type: ignore[arg-type]


# --- subscriptions ------------------------------------------------------------------------
def insert_webhook(conn: psycopg.Connection, webhook_id: UUID, *, url: str, events: list[str],
                   secret: str, description: str, created_by: str | None) -> WebhookRow:
    return _hooks(
        conn,
        f"INSERT INTO webhooks (id, url, events, secret, description, created_by)"
        f" VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_HOOK}",
        (webhook_id, url, events, secret, description, created_by),
    )[0]


def get_webhook(conn: psycopg.Connection, webhook_id: UUID) -> WebhookRow | None:
    rows = _hooks(conn, f"SELECT {_HOOK} FROM webhooks WHERE id = %s", (webhook_id,))
    return rows[0] if rows else None


def list_webhooks(conn: psycopg.Connection, page: Page) -> list[WebhookRow]:
    where = Where.after(page)
    return fetch_all(conn, WebhookRow,
                     f"SELECT {_HOOK} FROM webhooks WHERE {where} {order_by()} LIMIT %(limit)s",
                     where.params | {"limit": page.limit + 1})


UPDATE_WEBHOOK = """
UPDATE webhooks SET url = COALESCE(%(url)s, url), events = COALESCE(%(events)s, events),
    description = COALESCE(%(description)s, description),
    enabled = COALESCE(%(enabled)s, enabled), updated_at = %(now)s
WHERE id = %(id)s RETURNING """ + _HOOK


def update_webhook(conn: psycopg.Connection, webhook_id: UUID, *, now: datetime,
                   url: str | None = None, events: list[str] | None = None,
                   description: str | None = None, enabled: bool | None = None
                   ) -> WebhookRow | None:
    """Change the given fields (None = unchanged)."""
    rows = _hooks(conn, UPDATE_WEBHOOK, {"url": url, "events": events, "description": description,
                                         "enabled": enabled, "now": now, "id": webhook_id})
    return rows[0] if rows else None


def delete_webhook(conn: psycopg.Connection, webhook_id: UUID) -> bool:
    """Delete a subscription and its deliveries (ON DELETE CASCADE)."""
    return conn.execute("DELETE FROM webhooks WHERE id = %s", (webhook_id,)).rowcount == 1


def has_subscribers(conn: psycopg.Connection, event: str) -> bool:
    row = conn.execute("SELECT EXISTS (SELECT 1 FROM webhooks WHERE enabled"
                       " AND %s = ANY(events))", (event,)).fetchone()
    return bool(row and row[0])


# --- the outbox ---------------------------------------------------------------------------
INSERT_DELIVERIES = """
INSERT INTO webhook_deliveries (id, webhook_id, event_id, event, payload, status,
                                next_attempt_at, created_at, updated_at)
SELECT gen_random_uuid(), w.id, %(event_id)s, %(event)s, %(payload)s, 'pending',
       %(now)s, %(now)s, %(now)s
FROM webhooks w WHERE w.enabled AND %(event)s = ANY(w.events)
"""


def insert_deliveries(conn: psycopg.Connection, *, event_id: UUID, event: str,
                      payload: dict[str, Any], now: datetime) -> int:
    """One pending delivery per enabled subscription to `event` (one statement); how many."""
    return conn.execute(INSERT_DELIVERIES, {"event_id": event_id, "event": event,
                                            "payload": Jsonb(payload), "now": now}).rowcount


CLAIM_DUE = """
WITH due AS (
    SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
    WHERE d.status IN ('pending', 'failed') AND d.next_attempt_at <= %(now)s AND w.enabled
    ORDER BY d.next_attempt_at, d.id LIMIT %(limit)s FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhook_deliveries d SET next_attempt_at = %(lease)s
FROM due, webhooks w WHERE d.id = due.id AND w.id = d.webhook_id
RETURNING """ + ", ".join(f"d.{c.strip()}" for c in _DELIVERY.split(",")) + ", w.url, w.secret"


def claim_due(conn: psycopg.Connection, now: datetime, limit: int, lease_until: datetime
              ) -> list[DueDelivery]:
    """Take up to `limit` due deliveries of enabled webhooks: their next attempt moves to
    `lease_until`, so another deliverer skips them while this one sends (and a deliverer
    that dies leaves them due again after the lease)."""
    rows = conn.execute(CLAIM_DUE, {"now": now, "limit": limit, "lease": lease_until}).fetchall()
    width = len(_DELIVERY.split(","))
    found = [DueDelivery(DeliveryRow(*r[:width]), r[width], r[width + 1]) for r in rows]
    # Oldest events first (best effort: a retried delivery may still overtake).
    return sorted(found, key=lambda d: (d.delivery.created_at, str(d.delivery.id)))


def mark_delivered(conn: psycopg.Connection, delivery_id: UUID, *, status_code: int,
                   now: datetime) -> DeliveryRow | None:
    """pending|failed → delivered."""
    rows = _deliveries(
        conn,
        f"UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1,"
        f" last_status = %s, last_error = NULL, delivered_at = %s, updated_at = %s"
        f" WHERE id = %s AND status IN ('pending', 'failed') RETURNING {_DELIVERY}",
        (status_code, now, now, delivery_id),
    )
    return rows[0] if rows else None


def mark_failed(conn: psycopg.Connection, delivery_id: UUID, *, error: str,
                status_code: int | None, now: datetime, next_attempt_at: datetime | None
                ) -> DeliveryRow | None:
    """pending|failed → failed (again at `next_attempt_at`) or → dead (when it is None)."""
    status = FAILED if next_attempt_at is not None else DEAD
    rows = _deliveries(
        conn,
        f"UPDATE webhook_deliveries SET status = %s, attempts = attempts + 1, last_error = %s,"
        f" last_status = %s, next_attempt_at = COALESCE(%s, next_attempt_at), updated_at = %s"
        f" WHERE id = %s AND status IN ('pending', 'failed') RETURNING {_DELIVERY}",
        (status, error, status_code, next_attempt_at, now, delivery_id),
    )
    return rows[0] if rows else None


def postpone(conn: psycopg.Connection, delivery_ids: Sequence[UUID], until: datetime) -> int:
    """Move the next attempt of due rows to `until` without counting an attempt (their
    receiver was just found down)."""
    return conn.execute(
        "UPDATE webhook_deliveries SET next_attempt_at = %s"
        " WHERE id = ANY(%s) AND status IN ('pending', 'failed')",
        (until, list(delivery_ids)),
    ).rowcount


def list_deliveries(conn: psycopg.Connection, page: Page, *, webhook_id: UUID | None = None,
                    status: str | None = None, event: str | None = None) -> list[DeliveryRow]:
    where = (Where.after(page).equal("webhook_id", webhook_id).equal("status", status)
             .equal("event", event))
    return fetch_all(conn, DeliveryRow,
                     f"SELECT {_DELIVERY} FROM webhook_deliveries WHERE {where} {order_by()}"
                     f" LIMIT %(limit)s", where.params | {"limit": page.limit + 1})


def get_delivery(conn: psycopg.Connection, delivery_id: UUID) -> DeliveryRow | None:
    rows = _deliveries(conn, f"SELECT {_DELIVERY} FROM webhook_deliveries WHERE id = %s",
                       (delivery_id,))
    return rows[0] if rows else None


def requeue(conn: psycopg.Connection, delivery_id: UUID, now: datetime) -> DeliveryRow | None:
    """dead|failed → pending, due now, attempts reset; None when it was neither."""
    rows = _deliveries(
        conn,
        f"UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = %s,"
        f" updated_at = %s WHERE id = %s AND status IN ('dead', 'failed') RETURNING {_DELIVERY}",
        (now, now, delivery_id),
    )
    return rows[0] if rows else None


def delete_delivered(conn: psycopg.Connection, before: datetime, limit: int) -> int:
    """Delete up to `limit` delivered rows last changed before `before` (retention)."""
    return conn.execute(
        "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries"
        " WHERE status = 'delivered' AND updated_at < %s ORDER BY updated_at LIMIT %s)",
        (before, limit),
    ).rowcount
