"""audit_log table: one row per admin action (actor, action, target, outcome, details)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from .paging import Page, order_by, page_clause


@dataclass(frozen=True)
class AuditRow:
    id: UUID
    actor: str | None
    actor_id: UUID | None
    action: str
    target: str | None
    outcome: str
    details: dict[str, Any]
    remote_addr: str | None
    created_at: datetime


@dataclass(frozen=True)
class AuditFilter:
    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None
    action: str | None = None
    outcome: str | None = None


_COLS = "id, actor, actor_id, action, target, outcome, details, remote_addr, created_at"


def insert_audit(
    conn: psycopg.Connection, audit_id: UUID, *, actor: str | None, actor_id: UUID | None,
    action: str, target: str | None, outcome: str, details: dict[str, Any],
    remote_addr: str | None,
) -> None:
    conn.execute(
        "INSERT INTO audit_log (id, actor, actor_id, action, target, outcome, details, remote_addr)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (audit_id, actor, actor_id, action, target, outcome, Jsonb(details), remote_addr),
    )


def list_audit(conn: psycopg.Connection, page: Page, flt: AuditFilter) -> list[AuditRow]:
    """Newest first; `action` ending in '.*' matches a prefix (e.g. 'user.*')."""
    where, params = page_clause(page)
    if flt.since is not None:
        where.append("created_at >= %s")
        params.append(flt.since)
    if flt.until is not None:
        where.append("created_at < %s")
        params.append(flt.until)
    if flt.actor is not None:
        where.append("actor = %s")
        params.append(flt.actor)
    if flt.action is not None:
        if flt.action.endswith(".*"):
            where.append("starts_with(action, %s)")
            params.append(flt.action[:-1])
        else:
            where.append("action = %s")
            params.append(flt.action)
    if flt.outcome is not None:
        where.append("outcome = %s")
        params.append(flt.outcome)
    with conn.cursor(row_factory=class_row(AuditRow)) as cur:
        return cur.execute(  # type: ignore[arg-type]
            f"SELECT {_COLS} FROM audit_log WHERE {' AND '.join(where)} {order_by()} LIMIT %s",
            (*params, page.limit + 1),
        ).fetchall()


def delete_older(conn: psycopg.Connection, before: datetime, limit: int) -> int:
    """Delete up to `limit` audit rows written before `before`, oldest first (retention)."""
    return conn.execute(
        "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE created_at < %s"
        " ORDER BY created_at LIMIT %s)",
        (before, limit),
    ).rowcount
