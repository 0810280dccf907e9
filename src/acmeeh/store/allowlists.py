"""identifier_allowlist table: names and suffixes an account may order, by scope."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from .paging import Page, order_by, page_clause


@dataclass(frozen=True)
class AllowlistRow:
    id: UUID
    scope: str  # global | eab | account
    scope_id: str  # '' for global, the kid for eab, the account id for account
    kind: str  # name | suffix
    value: str
    created_by: str | None
    created_at: datetime


_COLS = "id, scope, scope_id, kind, value, created_by, created_at"


def _all(conn: psycopg.Connection, query: str, params: tuple[Any, ...]) -> list[AllowlistRow]:
    with conn.cursor(row_factory=class_row(AllowlistRow)) as cur:
        return cur.execute(query, params).fetchall()  # type: ignore[arg-type]


def insert_entry(
    conn: psycopg.Connection, entry_id: UUID, *, scope: str, scope_id: str, kind: str,
    value: str, created_by: str | None,
) -> AllowlistRow | None:
    """Insert an entry; None when the same entry already exists."""
    rows = _all(
        conn,
        f"INSERT INTO identifier_allowlist (id, scope, scope_id, kind, value, created_by)"
        f" VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (scope, scope_id, kind, value) DO NOTHING"
        f" RETURNING {_COLS}",
        (entry_id, scope, scope_id, kind, value, created_by),
    )
    return rows[0] if rows else None


def get_entry(conn: psycopg.Connection, entry_id: UUID) -> AllowlistRow | None:
    rows = _all(conn, f"SELECT {_COLS} FROM identifier_allowlist WHERE id = %s", (entry_id,))
    return rows[0] if rows else None


def delete_entry(conn: psycopg.Connection, entry_id: UUID) -> AllowlistRow | None:
    rows = _all(
        conn, f"DELETE FROM identifier_allowlist WHERE id = %s RETURNING {_COLS}", (entry_id,)
    )
    return rows[0] if rows else None


def list_entries(
    conn: psycopg.Connection, page: Page, *, scope: str | None = None,
    scope_id: str | None = None,
) -> list[AllowlistRow]:
    where, params = page_clause(page)
    if scope is not None:
        where.append("scope = %s")
        params.append(scope)
    if scope_id is not None:
        where.append("scope_id = %s")
        params.append(scope_id)
    return _all(
        conn,
        f"SELECT {_COLS} FROM identifier_allowlist WHERE {' AND '.join(where)} {order_by()}"
        f" LIMIT %s",
        (*params, page.limit + 1),
    )


def entries_for(
    conn: psycopg.Connection, *, account_id: UUID, eab_kid: str | None
) -> list[AllowlistRow]:
    """Every entry that applies to the account: global, its EAB key's and its own."""
    return _all(
        conn,
        f"SELECT {_COLS} FROM identifier_allowlist WHERE scope = 'global'"
        f" OR (scope = 'account' AND scope_id = %s) OR (scope = 'eab' AND scope_id = %s)"
        f" ORDER BY scope, kind, value",
        (str(account_id), eab_kid or ""),
    )
