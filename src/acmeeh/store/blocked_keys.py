"""blocked_keys table (RFC 8555 §7.6), and what a public key is used for."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg

from .db import fetch_one
from .filters import fetch_page
from .paging import Page
from .records import columns

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


_COLS = columns(BlockedKeyRow)

IS_BLOCKED = """
SELECT EXISTS (SELECT 1 FROM blocked_keys WHERE spki_sha256 = %(spki_sha256)s)
"""

INSERT = f"""
INSERT INTO blocked_keys (spki_sha256, source, certificate_id, comment, created_by)
VALUES (%(spki_sha256)s, %(source)s, %(certificate_id)s, %(comment)s, %(created_by)s)
ON CONFLICT (spki_sha256) DO NOTHING
RETURNING {_COLS}
"""

GET = f"""
SELECT {_COLS} FROM blocked_keys WHERE spki_sha256 = %(spki_sha256)s
"""

DELETE = f"""
DELETE FROM blocked_keys WHERE spki_sha256 = %(spki_sha256)s RETURNING {_COLS}
"""

def is_blocked(conn: psycopg.Connection, spki_sha256: str) -> bool:
    row = conn.execute(IS_BLOCKED, {"spki_sha256": spki_sha256}).fetchone()
    return bool(row and row[0])


def insert(conn: psycopg.Connection, spki_sha256: str, *, source: str,
           certificate_id: UUID | None, comment: str, created_by: str) -> BlockedKeyRow | None:
    """Block a key; None when it was blocked already."""
    return fetch_one(conn, BlockedKeyRow, INSERT, {
        "spki_sha256": spki_sha256, "source": source, "certificate_id": certificate_id,
        "comment": comment, "created_by": created_by,
    })


def get(conn: psycopg.Connection, spki_sha256: str) -> BlockedKeyRow | None:
    return fetch_one(conn, BlockedKeyRow, GET, {"spki_sha256": spki_sha256})


def delete(conn: psycopg.Connection, spki_sha256: str) -> BlockedKeyRow | None:
    return fetch_one(conn, BlockedKeyRow, DELETE, {"spki_sha256": spki_sha256})


def list_page(conn: psycopg.Connection, page: Page) -> list[BlockedKeyRow]:
    """One page, newest first (limit + 1 rows: the extra one says another page follows)."""
    return fetch_page(conn, BlockedKeyRow, "blocked_keys", page, key=SPKI_KEY)
