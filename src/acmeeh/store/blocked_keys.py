"""blocked_keys table (RFC 8555 §7.6), and what a public key is used for."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from .db import fetch_all
from .filters import Where
from .paging import Page, order_by

SPKI_KEY = ('{p}spki_sha256 COLLATE "C"', '%(after_key)s COLLATE "C"')


@dataclass(frozen=True)
class BlockedKeyRow:
    spki_sha256: str
    source: str  # revocation | admin
    certificate_id: UUID | None
    comment: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class KeyUses:
    """Whether a key is some account's key, and whether it is blocked."""

    account: bool
    blocked: bool


_COLS = "spki_sha256, source, certificate_id, comment, created_by, created_at"


def _all(conn: psycopg.Connection, query: str, params: tuple[Any, ...]) -> list[BlockedKeyRow]:
    with conn.cursor(row_factory=class_row(BlockedKeyRow)) as cur:
        return cur.execute(query, params).fetchall()  # type: ignore[arg-type]


_USES = (
    "SELECT EXISTS (SELECT 1 FROM accounts WHERE spki_sha256 = %(k)s),"
    " EXISTS (SELECT 1 FROM blocked_keys WHERE spki_sha256 = %(k)s)"
)


def key_uses(conn: psycopg.Connection, spki_sha256: str) -> KeyUses:
    """One round trip: is the key an account key (any account, any status), is it blocked?"""
    row = conn.execute(_USES, {"k": spki_sha256}).fetchone()
    assert row is not None
    return KeyUses(account=bool(row[0]), blocked=bool(row[1]))


def is_blocked(conn: psycopg.Connection, spki_sha256: str) -> bool:
    row = conn.execute("SELECT EXISTS (SELECT 1 FROM blocked_keys WHERE spki_sha256 = %s)",
                       (spki_sha256,)).fetchone()
    return bool(row and row[0])


def insert(conn: psycopg.Connection, spki_sha256: str, *, source: str,
           certificate_id: UUID | None, comment: str, created_by: str) -> BlockedKeyRow | None:
    """Block a key; None when it was blocked already."""
    rows = _all(
        conn,
        f"INSERT INTO blocked_keys (spki_sha256, source, certificate_id, comment, created_by)"
        f" VALUES (%s, %s, %s, %s, %s) ON CONFLICT (spki_sha256) DO NOTHING RETURNING {_COLS}",
        (spki_sha256, source, certificate_id, comment, created_by),
    )
    return rows[0] if rows else None


def get(conn: psycopg.Connection, spki_sha256: str) -> BlockedKeyRow | None:
    rows = _all(conn, f"SELECT {_COLS} FROM blocked_keys WHERE spki_sha256 = %s", (spki_sha256,))
    return rows[0] if rows else None


def delete(conn: psycopg.Connection, spki_sha256: str) -> BlockedKeyRow | None:
    rows = _all(conn, f"DELETE FROM blocked_keys WHERE spki_sha256 = %s RETURNING {_COLS}",
                (spki_sha256,))
    return rows[0] if rows else None


def list_page(conn: psycopg.Connection, page: Page) -> list[BlockedKeyRow]:
    """One page, newest first (limit + 1 rows: the extra one says another page follows)."""
    where = Where.after(page, SPKI_KEY)
    return fetch_all(conn, BlockedKeyRow,
                     f"SELECT {_COLS} FROM blocked_keys WHERE {where} {order_by(SPKI_KEY)}"
                     f" LIMIT %(limit)s", where.params | {"limit": page.limit + 1})
