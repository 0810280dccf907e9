"""nonces table: redeemed anti-replay nonces (RFC 8555 §6.5), shared by every instance."""
from __future__ import annotations

from datetime import datetime

import psycopg


def record_redeemed(conn: psycopg.Connection, value: str, expires_at: datetime) -> bool:
    """Remember a nonce as used; False when it was used before (a replay)."""
    cur = conn.execute(
        "INSERT INTO nonces (value, expires_at) VALUES (%s, %s) ON CONFLICT (value) DO NOTHING",
        (value, expires_at),
    )
    return cur.rowcount == 1
