"""eab_keys table: external account binding keys (RFC 8555 §7.3.4).

The HMAC key is stored as is and read only by `get_hmac_key` (newAccount verification);
`EabKeyRow` does not carry it, so no list or API response can leak it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg

from .db import fetch_one
from .filters import Where, fetch_page
from .paging import KID_KEY, Page
from .records import columns


@dataclass(frozen=True)
class EabKeyRow:
    kid: str
    label: str
    created_by: str | None
    account_id: UUID | None
    used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


_COLS = columns(EabKeyRow)

INSERT = f"""
INSERT INTO eab_keys (kid, hmac_key, label, created_by)
VALUES (%(kid)s, %(hmac_key)s, %(label)s, %(created_by)s)
RETURNING {_COLS}
"""

GET = f"""
SELECT {_COLS} FROM eab_keys WHERE kid = %(kid)s
"""

# The secret of a key that can still bind an account (unrevoked, unused).
GET_HMAC_KEY = """
SELECT hmac_key FROM eab_keys
WHERE kid = %(kid)s AND revoked_at IS NULL AND account_id IS NULL AND used_at IS NULL
"""

# unused → used by one account, once.
BIND = f"""
UPDATE eab_keys SET account_id = %(account_id)s, used_at = %(now)s
WHERE kid = %(kid)s AND revoked_at IS NULL AND account_id IS NULL AND used_at IS NULL
RETURNING {_COLS}
"""

REVOKE = f"""
UPDATE eab_keys SET revoked_at = %(now)s WHERE kid = %(kid)s AND revoked_at IS NULL
RETURNING {_COLS}
"""

# The status filter of list_keys: SQL text of ours, never a value.
_KEY_STATUS = {
    "revoked": "revoked_at IS NOT NULL",
    "used": "revoked_at IS NULL AND used_at IS NOT NULL",
    "unused": "revoked_at IS NULL AND used_at IS NULL",
}


def insert_key(
    conn: psycopg.Connection, kid: str, *, hmac_key: bytes, label: str, created_by: str | None
) -> EabKeyRow:
    row = fetch_one(conn, EabKeyRow, INSERT, {"kid": kid, "hmac_key": hmac_key, "label": label,
                                             "created_by": created_by})
    assert row is not None
    return row


def get_key(conn: psycopg.Connection, kid: str) -> EabKeyRow | None:
    return fetch_one(conn, EabKeyRow, GET, {"kid": kid})


def get_hmac_key(conn: psycopg.Connection, kid: str) -> bytes | None:
    """The secret of an unrevoked, unused key, or None."""
    row = conn.execute(GET_HMAC_KEY, {"kid": kid}).fetchone()
    return bytes(row[0]) if row else None


def bind_key(conn: psycopg.Connection, kid: str, account_id: UUID, now: datetime) -> EabKeyRow | None:
    """unused → used by `account_id`, once; None when revoked or already used."""
    return fetch_one(conn, EabKeyRow, BIND, {"account_id": account_id, "now": now, "kid": kid})


def revoke_key(conn: psycopg.Connection, kid: str, now: datetime) -> EabKeyRow | None:
    """Revoke once; None when unknown or already revoked."""
    return fetch_one(conn, EabKeyRow, REVOKE, {"now": now, "kid": kid})


def list_keys(conn: psycopg.Connection, page: Page, *, status: str | None = None) -> list[EabKeyRow]:
    """Newest first; status is 'unused', 'used' or 'revoked'."""
    where = Where()
    if status in _KEY_STATUS:
        where.add(_KEY_STATUS[status])
    return fetch_page(conn, EabKeyRow, "eab_keys", page, where, key=KID_KEY)
