"""orders and order_authorizations tables."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from .records import OrderRow

_COLS = (
    "id, account_id, status, identifiers, not_before, not_after, expires, error,"
    " certificate_id, replaces, created_at, updated_at"
)


def _one(conn: psycopg.Connection, query: str, params: tuple[Any, ...]) -> OrderRow | None:
    with conn.cursor(row_factory=class_row(OrderRow)) as cur:
        return cur.execute(query, params).fetchone()  # type: ignore[arg-type]


def _all(conn: psycopg.Connection, query: str, params: tuple[Any, ...]) -> list[OrderRow]:
    with conn.cursor(row_factory=class_row(OrderRow)) as cur:
        return cur.execute(query, params).fetchall()  # type: ignore[arg-type]


def insert_order(
    conn: psycopg.Connection,
    order_id: UUID,
    *,
    account_id: UUID,
    status: str,
    identifiers: list[dict[str, str]],
    expires: datetime,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    replaces: str | None = None,
    authorization_ids: list[UUID],
) -> OrderRow:
    """Insert an order and link its authorizations."""
    row = _one(
        conn,
        f"INSERT INTO orders (id, account_id, status, identifiers, not_before, not_after, expires, replaces)"
        f" VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_COLS}",
        (order_id, account_id, status, Jsonb(identifiers), not_before, not_after, expires, replaces),
    )
    assert row is not None
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO order_authorizations (order_id, authorization_id) VALUES (%s, %s)",
            [(order_id, a) for a in authorization_ids],
        )
    return row


def get_order(conn: psycopg.Connection, order_id: UUID) -> OrderRow | None:
    return _one(conn, f"SELECT {_COLS} FROM orders WHERE id = %s", (order_id,))


def list_account_orders(
    conn: psycopg.Connection, account_id: UUID, *, limit: int, before: datetime | None = None
) -> list[OrderRow]:
    """Newest first, `limit` rows, optionally only those created before `before` (paging)."""
    if before is None:
        return _all(
            conn,
            f"SELECT {_COLS} FROM orders WHERE account_id = %s ORDER BY created_at DESC LIMIT %s",
            (account_id, limit),
        )
    return _all(
        conn,
        f"SELECT {_COLS} FROM orders WHERE account_id = %s AND created_at < %s"
        f" ORDER BY created_at DESC LIMIT %s",
        (account_id, before, limit),
    )


def orders_for_authorization(conn: psycopg.Connection, authz_id: UUID, status: str) -> list[OrderRow]:
    """Orders in `status` that include the authorization, locked for update."""
    return _all(
        conn,
        f"SELECT {_COLS} FROM orders WHERE status = %s AND id IN"
        f" (SELECT order_id FROM order_authorizations WHERE authorization_id = %s)"
        f" ORDER BY id FOR UPDATE",
        (status, authz_id),
    )


def transition(
    conn: psycopg.Connection,
    order_id: UUID,
    *,
    from_status: str,
    to_status: str,
    error: dict[str, Any] | None = None,
    certificate_id: UUID | None = None,
) -> OrderRow | None:
    """Compare-and-set the order status; None when it was not `from_status`.

    Callers use the named transitions of acmeeh.authority.states, never raw strings.
    """
    return _one(
        conn,
        f"UPDATE orders SET status = %s, error = COALESCE(%s, error),"
        f" certificate_id = COALESCE(%s, certificate_id), updated_at = now()"
        f" WHERE id = %s AND status = %s RETURNING {_COLS}",
        (to_status, Jsonb(error) if error is not None else None, certificate_id, order_id, from_status),
    )


def count_account_orders(conn: psycopg.Connection, account_id: UUID) -> int:
    row = conn.execute("SELECT count(*) FROM orders WHERE account_id = %s", (account_id,)).fetchone()
    return int(row[0]) if row else 0
