"""nonces table: redeemed anti-replay nonces (RFC 8555 §6.5), shared by every instance."""
from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg.rows import dict_row

from .records import AccountRow, columns

# Remembering a nonce as used is the replay check (RFC 8555 §6.5): no row was inserted means
# the nonce was redeemed before.
REDEEM = """
INSERT INTO nonces (value, expires_at) VALUES (%(value)s, %(expires_at)s)
ON CONFLICT (value) DO NOTHING
"""

# REDEEM fused with reading the account that signed the request (one round trip).
REDEEM_LOADING_ACCOUNT = f"""
WITH used AS (
    INSERT INTO nonces (value, expires_at) VALUES (%(value)s, %(expires_at)s)
    ON CONFLICT (value) DO NOTHING
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM used) AS fresh, {columns(AccountRow, "a")}
FROM (SELECT 1) AS one LEFT JOIN accounts a ON a.id = %(account_id)s
"""


def record_redeemed(conn: psycopg.Connection, value: str, expires_at: datetime) -> bool:
    """Remember a nonce as used; False when it was used before (a replay)."""
    cur = conn.execute(REDEEM, {"value": value, "expires_at": expires_at})
    return cur.rowcount == 1


def redeem_loading_account(
    conn: psycopg.Connection, value: str, expires_at: datetime, account_id: object
) -> tuple[AccountRow | None, bool]:
    """Record the nonce as used and read the account, in one round trip.

    Returns (account or None, whether the nonce was fresh).
    """
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(REDEEM_LOADING_ACCOUNT, {
            "value": value, "expires_at": expires_at, "account_id": account_id,
        }).fetchone()
    assert row is not None
    fresh = bool(row.pop("fresh"))
    return (AccountRow(**row) if row["id"] is not None else None), fresh
