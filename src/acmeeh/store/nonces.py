"""nonces table: redeemed anti-replay nonces (RFC 8555 §6.5), shared by every instance."""
from __future__ import annotations

from datetime import datetime

import psycopg

# Remembering a nonce as used is the replay check (RFC 8555 §6.5): no row was inserted means
# the nonce was redeemed before.
REDEEM = """
INSERT INTO nonces (value, expires_at) VALUES (%(value)s, %(expires_at)s)
ON CONFLICT (value) DO NOTHING
"""
# The same, fused with the reads of a signed request: store.signed_reads.


def record_redeemed(conn: psycopg.Connection, value: str, expires_at: datetime) -> bool:
    """Remember a nonce as used; False when it was used before (a replay)."""
    cur = conn.execute(REDEEM, {"value": value, "expires_at": expires_at})
    return cur.rowcount == 1
