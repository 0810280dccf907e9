"""renewal_windows table and the orders that replace a certificate (RFC 9773 §4.2, §5)."""
from __future__ import annotations

from datetime import datetime
from uuid import UUID

import psycopg

from .db import fetch_all
from .records import OrderRow, columns

# Orders, not invalid as stored, that replace a certificate (by its canonical certID).
ORDERS_REPLACING = f"""
SELECT {columns(OrderRow)} FROM orders
WHERE replaces = %(cert_id)s AND status <> 'invalid'
ORDER BY created_at LIMIT 10
"""

# Set (or replace) the operator window of one certificate.
SET_WINDOW = """
INSERT INTO renewal_windows (certificate_id, window_start, window_end, explanation_url)
VALUES (%(certificate_id)s, %(start)s, %(end)s, %(explanation_url)s)
ON CONFLICT (certificate_id) DO UPDATE
SET window_start = EXCLUDED.window_start, window_end = EXCLUDED.window_end,
    explanation_url = EXCLUDED.explanation_url, updated_at = now()
"""

CLEAR_WINDOWS = """
DELETE FROM renewal_windows WHERE certificate_id = ANY(%(ids)s)
"""

CERTIFICATE_IDS_BY_SERIAL = """
SELECT id FROM certificates WHERE serial = ANY(%(serials)s)
"""


def orders_replacing(conn: psycopg.Connection, cert_id: str) -> list[OrderRow]:
    """Orders, not invalid as stored, whose `replaces` is the canonical certID `cert_id`."""
    return fetch_all(conn, OrderRow, ORDERS_REPLACING, {"cert_id": cert_id})


def set_windows(
    conn: psycopg.Connection,
    certificate_ids: list[UUID],
    *,
    start: datetime,
    end: datetime,
    explanation_url: str | None,
) -> int:
    """Set (or replace) the operator window of each certificate; the number of rows written."""
    params = [{"certificate_id": c, "start": start, "end": end, "explanation_url": explanation_url}
              for c in certificate_ids]
    with conn.cursor() as cur:
        cur.executemany(SET_WINDOW, params)
    return len(params)


def clear_windows(conn: psycopg.Connection, certificate_ids: list[UUID]) -> int:
    """Drop the operator window of each certificate (back to the computed one)."""
    return conn.execute(CLEAR_WINDOWS, {"ids": certificate_ids}).rowcount


def certificate_ids_by_serial(conn: psycopg.Connection, serials: list[str]) -> list[UUID]:
    """Ids of the certificates among lowercase-hex `serials` (unknown ones are skipped)."""
    rows = conn.execute(CERTIFICATE_IDS_BY_SERIAL, {"serials": serials}).fetchall()
    return [r[0] for r in rows]
