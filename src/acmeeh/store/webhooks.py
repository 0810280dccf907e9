"""webhooks and webhook_deliveries tables: subscriptions and the delivery outbox
(see 0012_webhooks_retention.sql)."""
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
from .filters import Where, listing
from .paging import Page, order_by
from .records import as_enums, columns, split


class DeliveryStatus(StrEnum):
    """Where a webhook delivery stands (migration 0012's CHECK); the deliverer only ever claims
    pending and failed rows."""

    PENDING = "pending"
    FAILED = "failed"  # tried, tried again at next_attempt_at
    DELIVERED = "delivered"
    DEAD = "dead"  # out of attempts


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
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    last_status: int | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime

    def __post_init__(self) -> None:
        as_enums(self, status=DeliveryStatus)


@dataclass(frozen=True)
class DueDelivery:
    """A claimed delivery with what sending it needs."""

    delivery: DeliveryRow
    url: str
    secret: str


_HOOK = columns(WebhookRow)
_DELIVERY = columns(DeliveryRow)

# --- subscriptions ------------------------------------------------------------------------
INSERT_WEBHOOK = f"""
INSERT INTO webhooks (id, url, events, secret, description, created_by)
VALUES (%(id)s, %(url)s, %(events)s, %(secret)s, %(description)s, %(created_by)s)
RETURNING {_HOOK}
"""

GET_WEBHOOK = f"""
SELECT {_HOOK} FROM webhooks WHERE id = %(id)s
"""

# A page of subscriptions: {where} and {order} are filled in by list_webhooks.
LIST_WEBHOOKS = f"""
SELECT {_HOOK} FROM webhooks WHERE {{where}} {{order}} LIMIT %(limit)s
"""

# None leaves a field unchanged.
UPDATE_WEBHOOK = f"""
UPDATE webhooks
SET url = COALESCE(%(url)s, url), events = COALESCE(%(events)s, events),
    description = COALESCE(%(description)s, description),
    enabled = COALESCE(%(enabled)s, enabled), updated_at = %(now)s
WHERE id = %(id)s
RETURNING {_HOOK}
"""

DELETE_WEBHOOK = """
DELETE FROM webhooks WHERE id = %(id)s
"""

HAS_SUBSCRIBERS = """
SELECT EXISTS (SELECT 1 FROM webhooks WHERE enabled AND %(event)s = ANY(events))
"""

# --- the outbox ---------------------------------------------------------------------------
@dataclass(frozen=True)
class NewEvent:
    """An event to record for every enabled subscription to it (`payload` JSON-ready)."""

    id: UUID
    event: str
    payload: dict[str, Any]
    now: datetime


INSERT_DELIVERIES = """
INSERT INTO webhook_deliveries (id, webhook_id, event_id, event, payload, status,
                                next_attempt_at, created_at, updated_at)
SELECT gen_random_uuid(), w.id, %(event_id)s, %(event)s, %(payload)s, 'pending',
       %(now)s, %(now)s, %(now)s
FROM webhooks w WHERE w.enabled AND %(event)s = ANY(w.events)
"""

CLAIM_DUE = f"""
WITH due AS (
    SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
    WHERE d.status IN ('pending', 'failed') AND d.next_attempt_at <= %(now)s AND w.enabled
    ORDER BY d.next_attempt_at, d.id LIMIT %(limit)s FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhook_deliveries d SET next_attempt_at = %(lease)s
FROM due, webhooks w WHERE d.id = due.id AND w.id = d.webhook_id
RETURNING {columns(DeliveryRow, 'd')}, w.url, w.secret
"""

# pending|failed → delivered.
MARK_DELIVERED = f"""
UPDATE webhook_deliveries
SET status = 'delivered', attempts = attempts + 1, last_status = %(status_code)s,
    last_error = NULL, delivered_at = %(now)s, updated_at = %(now)s
WHERE id = %(id)s AND status IN ('pending', 'failed')
RETURNING {_DELIVERY}
"""

# pending|failed → failed (again at %(next_attempt_at)s) or dead (%(status)s says which).
MARK_FAILED = f"""
UPDATE webhook_deliveries
SET status = %(status)s, attempts = attempts + 1, last_error = %(error)s,
    last_status = %(status_code)s, next_attempt_at = COALESCE(%(next_attempt_at)s, next_attempt_at),
    updated_at = %(now)s
WHERE id = %(id)s AND status IN ('pending', 'failed')
RETURNING {_DELIVERY}
"""

# The next attempt of due rows moves, without counting an attempt.
POSTPONE = """
UPDATE webhook_deliveries SET next_attempt_at = %(until)s
WHERE id = ANY(%(ids)s) AND status IN ('pending', 'failed')
"""

# A page of deliveries: {where} and {order} are filled in by list_deliveries.
LIST_DELIVERIES = f"""
SELECT {_DELIVERY} FROM webhook_deliveries WHERE {{where}} {{order}} LIMIT %(limit)s
"""

GET_DELIVERY = f"""
SELECT {_DELIVERY} FROM webhook_deliveries WHERE id = %(id)s
"""

# dead|failed → pending, due now, attempts reset.
REQUEUE = f"""
UPDATE webhook_deliveries
SET status = 'pending', attempts = 0, next_attempt_at = %(now)s, updated_at = %(now)s
WHERE id = %(id)s AND status IN ('dead', 'failed')
RETURNING {_DELIVERY}
"""

DELETE_DELIVERED = """
DELETE FROM webhook_deliveries WHERE id IN (
    SELECT id FROM webhook_deliveries
    WHERE status = 'delivered' AND updated_at < %(before)s
    ORDER BY updated_at LIMIT %(limit)s)
"""


def insert_webhook(conn: psycopg.Connection, webhook_id: UUID, *, url: str, events: list[str],
                   secret: str, description: str, created_by: str | None) -> WebhookRow:
    row = fetch_one(conn, WebhookRow, INSERT_WEBHOOK, {
        "id": webhook_id, "url": url, "events": events, "secret": secret,
        "description": description, "created_by": created_by,
    })
    assert row is not None  # an INSERT without ON CONFLICT returns its row
    return row


def get_webhook(conn: psycopg.Connection, webhook_id: UUID) -> WebhookRow | None:
    return fetch_one(conn, WebhookRow, GET_WEBHOOK, {"id": webhook_id})


def list_webhooks(conn: psycopg.Connection, page: Page) -> list[WebhookRow]:
    where = Where.after(page)
    return fetch_all(conn, WebhookRow, listing(LIST_WEBHOOKS, where, order_by()),
                     where.params | {"limit": page.limit + 1})


def update_webhook(conn: psycopg.Connection, webhook_id: UUID, *, now: datetime,
                   url: str | None = None, events: list[str] | None = None,
                   description: str | None = None, enabled: bool | None = None
                   ) -> WebhookRow | None:
    """Change the given fields (None = unchanged)."""
    return fetch_one(conn, WebhookRow, UPDATE_WEBHOOK, {
        "url": url, "events": events, "description": description, "enabled": enabled,
        "now": now, "id": webhook_id,
    })


def delete_webhook(conn: psycopg.Connection, webhook_id: UUID) -> bool:
    """Delete a subscription and its deliveries (ON DELETE CASCADE)."""
    return conn.execute(DELETE_WEBHOOK, {"id": webhook_id}).rowcount == 1


def has_subscribers(conn: psycopg.Connection, event: str) -> bool:
    row = conn.execute(HAS_SUBSCRIBERS, {"event": event}).fetchone()
    return bool(row and row[0])


def insert_deliveries(conn: psycopg.Connection, *, event_id: UUID, event: str,
                      payload: dict[str, Any], now: datetime) -> int:
    """One pending delivery per enabled subscription to `event` (one statement); how many."""
    return conn.execute(INSERT_DELIVERIES, {"event_id": event_id, "event": event,
                                            "payload": Jsonb(payload), "now": now}).rowcount


def claim_due(conn: psycopg.Connection, now: datetime, limit: int, lease_until: datetime
              ) -> list[DueDelivery]:
    """Take up to `limit` due deliveries of enabled webhooks: their next attempt moves to
    `lease_until`, so another deliverer skips them while this one sends (and a deliverer
    that dies leaves them due again after the lease)."""
    rows = conn.execute(CLAIM_DUE, {"now": now, "limit": limit, "lease": lease_until}).fetchall()
    found = [DueDelivery(split(r, DeliveryRow)[0], url=r[-2], secret=r[-1]) for r in rows]
    # Oldest events first (best effort: a retried delivery may still overtake).
    return sorted(found, key=lambda d: (d.delivery.created_at, str(d.delivery.id)))


def mark_delivered(conn: psycopg.Connection, delivery_id: UUID, *, status_code: int,
                   now: datetime) -> DeliveryRow | None:
    """pending|failed → delivered."""
    return fetch_one(conn, DeliveryRow, MARK_DELIVERED,
                     {"status_code": status_code, "now": now, "id": delivery_id})


def mark_failed(conn: psycopg.Connection, delivery_id: UUID, *, error: str,
                status_code: int | None, now: datetime, next_attempt_at: datetime | None
                ) -> DeliveryRow | None:
    """pending|failed → failed (again at `next_attempt_at`) or → dead (when it is None)."""
    status = DeliveryStatus.FAILED if next_attempt_at is not None else DeliveryStatus.DEAD
    return fetch_one(conn, DeliveryRow, MARK_FAILED, {
        "status": status, "error": error, "status_code": status_code,
        "next_attempt_at": next_attempt_at, "now": now, "id": delivery_id,
    })


def postpone(conn: psycopg.Connection, delivery_ids: Sequence[UUID], until: datetime) -> int:
    """Move the next attempt of due rows to `until` without counting an attempt (their
    receiver was just found down)."""
    return conn.execute(POSTPONE, {"until": until, "ids": list(delivery_ids)}).rowcount


def list_deliveries(conn: psycopg.Connection, page: Page, *, webhook_id: UUID | None = None,
                    status: str | None = None, event: str | None = None) -> list[DeliveryRow]:
    where = (Where.after(page).equal("webhook_id", webhook_id).equal("status", status)
             .equal("event", event))
    return fetch_all(conn, DeliveryRow, listing(LIST_DELIVERIES, where, order_by()),
                     where.params | {"limit": page.limit + 1})


def get_delivery(conn: psycopg.Connection, delivery_id: UUID) -> DeliveryRow | None:
    return fetch_one(conn, DeliveryRow, GET_DELIVERY, {"id": delivery_id})


def requeue(conn: psycopg.Connection, delivery_id: UUID, now: datetime) -> DeliveryRow | None:
    """dead|failed → pending, due now, attempts reset; None when it was neither."""
    return fetch_one(conn, DeliveryRow, REQUEUE, {"now": now, "id": delivery_id})


def delete_delivered(conn: psycopg.Connection, before: datetime, limit: int) -> int:
    """Delete up to `limit` delivered rows last changed before `before` (retention)."""
    return conn.execute(DELETE_DELIVERED, {"before": before, "limit": limit}).rowcount
