"""audit_log table: one row per admin action (actor, action, target, outcome, details)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from .filters import Where, fetch_page
from .paging import Page
from .records import columns


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


_COLS = columns(AuditRow)

INSERT = """
INSERT INTO audit_log (id, actor, actor_id, action, target, outcome, details, remote_addr)
VALUES (%(id)s, %(actor)s, %(actor_id)s, %(action)s, %(target)s, %(outcome)s, %(details)s,
        %(remote_addr)s)
"""

DELETE_OLDER = """
DELETE FROM audit_log WHERE id IN (
    SELECT id FROM audit_log WHERE created_at < %(before)s ORDER BY created_at LIMIT %(limit)s)
"""


def insert_audit(
    conn: psycopg.Connection, audit_id: UUID, *, actor: str | None, actor_id: UUID | None,
    action: str, target: str | None, outcome: str, details: dict[str, Any],
    remote_addr: str | None,
) -> None:
    conn.execute(INSERT, {
        "id": audit_id, "actor": actor, "actor_id": actor_id, "action": action,
        "target": target, "outcome": outcome, "details": Jsonb(details),
        "remote_addr": remote_addr,
    })


def list_audit(conn: psycopg.Connection, page: Page, flt: AuditFilter) -> list[AuditRow]:
    """Newest first; `action` ending in '.*' matches a prefix (e.g. 'user.*')."""
    where = (Where().add("created_at >= %(since)s", since=flt.since)
             .add("created_at < %(until)s", until=flt.until).equal("actor", flt.actor)
             .equal("outcome", flt.outcome))
    if flt.action is not None and flt.action.endswith(".*"):
        where.add("starts_with(action, %(action_prefix)s)", action_prefix=flt.action[:-1])
    else:
        where.equal("action", flt.action)
    return fetch_page(conn, AuditRow, "audit_log", page, where)


def delete_older(conn: psycopg.Connection, before: datetime, limit: int) -> int:
    """Delete up to `limit` audit rows written before `before`, oldest first (retention)."""
    return conn.execute(DELETE_OLDER, {"before": before, "limit": limit}).rowcount
