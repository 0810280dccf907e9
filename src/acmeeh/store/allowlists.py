"""identifier_allowlist table: names and suffixes an account may order, by scope."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg

from .db import fetch_all, fetch_one
from .filters import Where, fetch_page
from .paging import Page


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

INSERT = f"""
INSERT INTO identifier_allowlist (id, scope, scope_id, kind, value, created_by)
VALUES (%(id)s, %(scope)s, %(scope_id)s, %(kind)s, %(value)s, %(created_by)s)
ON CONFLICT (scope, scope_id, kind, value) DO NOTHING
RETURNING {_COLS}
"""

GET = f"""
SELECT {_COLS} FROM identifier_allowlist WHERE id = %(id)s
"""

DELETE = f"""
DELETE FROM identifier_allowlist WHERE id = %(id)s RETURNING {_COLS}
"""

FOR_ACCOUNT = f"""
SELECT {_COLS} FROM identifier_allowlist
WHERE scope = 'global'
   OR (scope = 'account' AND scope_id = %(account_id)s)
   OR (scope = 'eab' AND scope_id = %(eab_kid)s)
ORDER BY scope, kind, value
"""


def insert_entry(
    conn: psycopg.Connection, entry_id: UUID, *, scope: str, scope_id: str, kind: str,
    value: str, created_by: str | None,
) -> AllowlistRow | None:
    """Insert an entry; None when the same entry already exists."""
    return fetch_one(conn, AllowlistRow, INSERT, {
        "id": entry_id, "scope": scope, "scope_id": scope_id, "kind": kind, "value": value,
        "created_by": created_by,
    })


def get_entry(conn: psycopg.Connection, entry_id: UUID) -> AllowlistRow | None:
    return fetch_one(conn, AllowlistRow, GET, {"id": entry_id})


def delete_entry(conn: psycopg.Connection, entry_id: UUID) -> AllowlistRow | None:
    return fetch_one(conn, AllowlistRow, DELETE, {"id": entry_id})


def list_entries(
    conn: psycopg.Connection, page: Page, *, scope: str | None = None,
    scope_id: str | None = None,
) -> list[AllowlistRow]:
    where = Where().equal("scope", scope).equal("scope_id", scope_id)
    return fetch_page(conn, AllowlistRow, "identifier_allowlist", page, where)


def entries_for(
    conn: psycopg.Connection, *, account_id: UUID, eab_kid: str | None
) -> list[AllowlistRow]:
    """Every entry that applies to the account: global, its EAB key's and its own."""
    return fetch_all(conn, AllowlistRow, FOR_ACCOUNT,
                     {"account_id": str(account_id), "eab_kid": eab_kid or ""})
