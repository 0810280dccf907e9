"""renewal_windows table and the orders that replace a certificate (RFC 9773 §4.2, §5)."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from .records import OrderRow, columns

_ORDER_COLS = columns(OrderRow)


def orders_replacing(conn: psycopg.Connection, cert_id: str) -> list[OrderRow]:
    """Orders, not invalid as stored, whose `replaces` is the canonical certID `cert_id`."""
    with conn.cursor(row_factory=class_row(OrderRow)) as cur:
        return cur.execute(
            f"SELECT {_ORDER_COLS} FROM orders WHERE replaces = %s AND status <> 'invalid'"
            f" ORDER BY created_at LIMIT 10",
            (cert_id,),
        ).fetchall()


def set_windows(
    conn: psycopg.Connection,
    certificate_ids: list[UUID],
    *,
    start: datetime,
    end: datetime,
    explanation_url: str | None,
) -> int:
    """Set (or replace) the operator window of each certificate; the number of rows written."""
    params: list[tuple[Any, ...]] = [(c, start, end, explanation_url) for c in certificate_ids]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO renewal_windows (certificate_id, window_start, window_end, explanation_url)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (certificate_id) DO UPDATE SET"
            " window_start = EXCLUDED.window_start, window_end = EXCLUDED.window_end,"
            " explanation_url = EXCLUDED.explanation_url, updated_at = now()",
            params,
        )
    return len(params)


def clear_windows(conn: psycopg.Connection, certificate_ids: list[UUID]) -> int:
    """Drop the operator window of each certificate (back to the computed one)."""
    cur = conn.execute(
        "DELETE FROM renewal_windows WHERE certificate_id = ANY(%s)", (certificate_ids,)
    )
    return cur.rowcount


def certificate_ids_by_serial(conn: psycopg.Connection, serials: list[str]) -> list[UUID]:
    """Ids of the certificates among lowercase-hex `serials` (unknown ones are skipped)."""
    rows = conn.execute("SELECT id FROM certificates WHERE serial = ANY(%s)", (serials,)).fetchall()
    return [r[0] for r in rows]
