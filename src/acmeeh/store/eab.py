"""eab_keys table: external account binding keys (RFC 8555 §7.3.4).

The HMAC key is stored as is and read only by `get_hmac_key` (newAccount verification);
`EabKeyRow` does not carry it, so no list or API response can leak it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from .db import fetch_all
from .filters import Where
from .paging import KID_KEY, Page, order_by


@dataclass(frozen=True)
class EabKeyRow:
    kid: str
    label: str
    created_by: str | None
    account_id: UUID | None
    used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


_COLS = "kid, label, created_by, account_id, used_at, revoked_at, created_at"


def _one(conn: psycopg.Connection, query: str, params: tuple[Any, ...]) -> EabKeyRow | None:
    with conn.cursor(row_factory=class_row(EabKeyRow)) as cur:
        return cur.execute(query, params).fetchone()  # type: ignore[arg-type]


def insert_key(
    conn: psycopg.Connection, kid: str, *, hmac_key: bytes, label: str, created_by: str | None
) -> EabKeyRow:
    row = _one(
        conn,
        f"INSERT INTO eab_keys (kid, hmac_key, label, created_by) VALUES (%s, %s, %s, %s)"
        f" RETURNING {_COLS}",
        (kid, hmac_key, label, created_by),
    )
    assert row is not None
    return row


def get_key(conn: psycopg.Connection, kid: str) -> EabKeyRow | None:
    return _one(conn, f"SELECT {_COLS} FROM eab_keys WHERE kid = %s", (kid,))


def get_hmac_key(conn: psycopg.Connection, kid: str) -> bytes | None:
    """The secret of an unrevoked, unused key, or None."""
    row = conn.execute(
        "SELECT hmac_key FROM eab_keys WHERE kid = %s AND revoked_at IS NULL"
        " AND account_id IS NULL AND used_at IS NULL",
        (kid,),
    ).fetchone()
    return bytes(row[0]) if row else None


def bind_key(conn: psycopg.Connection, kid: str, account_id: UUID, now: datetime) -> EabKeyRow | None:
    """unused → used by `account_id`, once; None when revoked or already used."""
    return _one(
        conn,
        f"UPDATE eab_keys SET account_id = %s, used_at = %s WHERE kid = %s"
        f" AND revoked_at IS NULL AND account_id IS NULL AND used_at IS NULL RETURNING {_COLS}",
        (account_id, now, kid),
    )


def revoke_key(conn: psycopg.Connection, kid: str, now: datetime) -> EabKeyRow | None:
    """Revoke once; None when unknown or already revoked."""
    return _one(
        conn,
        f"UPDATE eab_keys SET revoked_at = %s WHERE kid = %s AND revoked_at IS NULL"
        f" RETURNING {_COLS}",
        (now, kid),
    )


def list_keys(conn: psycopg.Connection, page: Page, *, status: str | None = None) -> list[EabKeyRow]:
    """Newest first; status is 'unused', 'used' or 'revoked'."""
    where = Where.after(page, KID_KEY)
    if status in _KEY_STATUS:
        where.add(_KEY_STATUS[status])
    return fetch_all(conn, EabKeyRow,
                     f"SELECT {_COLS} FROM eab_keys WHERE {where} {order_by(KID_KEY)}"
                     f" LIMIT %(limit)s", where.params | {"limit": page.limit + 1})


_KEY_STATUS = {
    "revoked": "revoked_at IS NOT NULL",
    "used": "revoked_at IS NULL AND used_at IS NOT NULL",
    "unused": "revoked_at IS NULL AND used_at IS NULL",
}
