"""authorizations table."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from .records import AuthzRow

_COLS = (
    "id, account_id, identifier_type, identifier_value, wildcard, status, expires,"
    " created_at, updated_at"
)


def _one(conn: psycopg.Connection, query: str, params: tuple[Any, ...]) -> AuthzRow | None:
    with conn.cursor(row_factory=class_row(AuthzRow)) as cur:
        return cur.execute(query, params).fetchone()  # type: ignore[arg-type]


def _all(conn: psycopg.Connection, query: str, params: tuple[Any, ...]) -> list[AuthzRow]:
    with conn.cursor(row_factory=class_row(AuthzRow)) as cur:
        return cur.execute(query, params).fetchall()  # type: ignore[arg-type]


def insert_authorization(
    conn: psycopg.Connection,
    authz_id: UUID,
    *,
    account_id: UUID,
    identifier_type: str,
    identifier_value: str,
    wildcard: bool,
    expires: datetime,
) -> AuthzRow:
    row = _one(
        conn,
        f"INSERT INTO authorizations (id, account_id, identifier_type, identifier_value, wildcard,"
        f" status, expires) VALUES (%s, %s, %s, %s, %s, 'pending', %s) RETURNING {_COLS}",
        (authz_id, account_id, identifier_type, identifier_value, wildcard, expires),
    )
    assert row is not None
    return row


def get_authorization(conn: psycopg.Connection, authz_id: UUID) -> AuthzRow | None:
    return _one(conn, f"SELECT {_COLS} FROM authorizations WHERE id = %s", (authz_id,))


def lock_authorization(conn: psycopg.Connection, authz_id: UUID) -> AuthzRow | None:
    return _one(conn, f"SELECT {_COLS} FROM authorizations WHERE id = %s FOR UPDATE", (authz_id,))


def list_order_authorizations(conn: psycopg.Connection, order_id: UUID) -> list[AuthzRow]:
    return _all(
        conn,
        f"SELECT {_COLS} FROM authorizations WHERE id IN"
        f" (SELECT authorization_id FROM order_authorizations WHERE order_id = %s)"
        f" ORDER BY identifier_type, identifier_value, wildcard",
        (order_id,),
    )


def find_reusable(
    conn: psycopg.Connection, account_id: UUID, *, valid_until: datetime
) -> list[AuthzRow]:
    """The account's valid authorizations that stay valid past `valid_until`, newest first."""
    return _all(
        conn,
        f"SELECT {_COLS} FROM authorizations WHERE account_id = %s AND status = 'valid'"
        f" AND expires > %s ORDER BY expires DESC",
        (account_id, valid_until),
    )


def find_valid_for_names(
    conn: psycopg.Connection, account_id: UUID, names: list[tuple[str, str]], now: datetime
) -> list[AuthzRow]:
    """Valid, unexpired authorizations of the account for any of (type, value)."""
    if not names:
        return []
    types = [t for t, _ in names]
    values = [v for _, v in names]
    return _all(
        conn,
        f"SELECT {_COLS} FROM authorizations WHERE account_id = %s AND status = 'valid'"
        f" AND expires > %s AND (identifier_type, identifier_value) IN"
        f" (SELECT * FROM unnest(%s::text[], %s::text[]))",
        (account_id, now, types, values),
    )


def transition(
    conn: psycopg.Connection,
    authz_id: UUID,
    *,
    from_status: str,
    to_status: str,
    expires: datetime | None = None,
) -> AuthzRow | None:
    """Compare-and-set the status (and optionally the expiry); None when not `from_status`."""
    return _one(
        conn,
        f"UPDATE authorizations SET status = %s, expires = COALESCE(%s, expires), updated_at = now()"
        f" WHERE id = %s AND status = %s RETURNING {_COLS}",
        (to_status, expires, authz_id, from_status),
    )
