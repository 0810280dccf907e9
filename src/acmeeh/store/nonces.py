"""nonces table: redeemed anti-replay nonces (RFC 8555 §6.5), shared by every instance."""
from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg.rows import dict_row

from .records import AccountRow, columns


def record_redeemed(conn: psycopg.Connection, value: str, expires_at: datetime) -> bool:
    """Remember a nonce as used; False when it was used before (a replay)."""
    cur = conn.execute(
        "INSERT INTO nonces (value, expires_at) VALUES (%s, %s) ON CONFLICT (value) DO NOTHING",
        (value, expires_at),
    )
    return cur.rowcount == 1


def redeem_loading_account(
    conn: psycopg.Connection, value: str, expires_at: datetime, account_id: object
) -> tuple[AccountRow | None, bool]:
    """Record the nonce as used and read the account, in one round trip.

    Returns (account or None, whether the nonce was fresh).
    """
    cols = columns(AccountRow, "a")
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "WITH used AS (INSERT INTO nonces (value, expires_at) VALUES (%s, %s)"
            " ON CONFLICT (value) DO NOTHING RETURNING 1)"
            f" SELECT EXISTS (SELECT 1 FROM used) AS fresh, {cols}"
            " FROM (SELECT 1) AS one LEFT JOIN accounts a ON a.id = %s",
            (value, expires_at, account_id),
        ).fetchone()
    assert row is not None
    fresh = bool(row.pop("fresh"))
    return (AccountRow(**row) if row["id"] is not None else None), fresh
