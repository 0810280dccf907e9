"""nonces table: issued anti-replay nonces (RFC 8555 §6.5), shared by every instance."""
from __future__ import annotations

from datetime import datetime

import psycopg


def insert_nonce(conn: psycopg.Connection, value: str, expires_at: datetime) -> None:
    conn.execute("INSERT INTO nonces (value, expires_at) VALUES (%s, %s)", (value, expires_at))


def redeem_nonce(conn: psycopg.Connection, value: str, now: datetime) -> bool:
    """Consume a nonce once; False when unknown, already used or expired."""
    row = conn.execute(
        "DELETE FROM nonces WHERE value = %s RETURNING expires_at", (value,)
    ).fetchone()
    return row is not None and row[0] > now


def delete_expired_nonces(conn: psycopg.Connection, now: datetime) -> int:
    return conn.execute("DELETE FROM nonces WHERE expires_at <= %s", (now,)).rowcount
