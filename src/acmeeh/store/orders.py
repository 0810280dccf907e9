"""orders and order_authorizations tables."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from .paging import Page, order_by, page_clause
from .records import AuthzRow, OrderRow, columns, parent_with_children

_COLS = columns(OrderRow)


# The ids of an order's authorizations (or an authorization's orders) are collected first,
# as an ARRAY(...) evaluated once, and then looked up by primary key: the plan stays an index
# lookup whatever the planner believes of the table sizes (a join here was hash-joined against
# a sequential scan of a young, small table).
_AUTHZS_OF_ORDER = "ARRAY(SELECT authorization_id FROM order_authorizations WHERE order_id = %s)"
_ORDERS_OF_AUTHZ = "ARRAY(SELECT order_id FROM order_authorizations WHERE authorization_id = %s)"
_ORDER_WITH_AUTHZS = (
    f"SELECT {columns(OrderRow, 'o')}, {columns(AuthzRow, 'a')} FROM orders o"
    f" LEFT JOIN authorizations a ON a.id = ANY({_AUTHZS_OF_ORDER})"
    f" WHERE o.id = %s ORDER BY a.identifier_type, a.identifier_value, a.wildcard"
)


def _one(conn: psycopg.Connection, query: str, params: tuple[Any, ...]) -> OrderRow | None:
    with conn.cursor(row_factory=class_row(OrderRow)) as cur:
        return cur.execute(query, params).fetchone()  # type: ignore[arg-type]


def _all(conn: psycopg.Connection, query: str, params: tuple[Any, ...]) -> list[OrderRow]:
    with conn.cursor(row_factory=class_row(OrderRow)) as cur:
        return cur.execute(query, params).fetchall()  # type: ignore[arg-type]


@dataclass(frozen=True)
class NewAuthorization:
    """A pending authorization to create with an order, with its challenges (id, type, token)."""

    id: UUID
    identifier_type: str
    identifier_value: str
    wildcard: bool
    expires: datetime
    challenges: tuple[tuple[UUID, str, str], ...]


_CREATE = (
    "WITH a AS (INSERT INTO authorizations (id, account_id, identifier_type, identifier_value,"
    " wildcard, status, expires) SELECT u.id, %(account)s, u.t, u.v, u.w, 'pending', u.e"
    " FROM unnest(%(a_id)s::uuid[], %(a_t)s::text[], %(a_v)s::text[], %(a_w)s::boolean[],"
    " %(a_e)s::timestamptz[]) AS u (id, t, v, w, e) RETURNING *),"
    " c AS (INSERT INTO challenges (id, authorization_id, type, token, status)"
    " SELECT u.id, u.authz, u.type, u.token, 'pending' FROM unnest(%(c_id)s::uuid[],"
    " %(c_authz)s::uuid[], %(c_type)s::text[], %(c_token)s::text[]) AS u (id, authz, type, token)),"
    " o AS (INSERT INTO orders (id, account_id, status, identifiers, not_before, not_after,"
    " expires, replaces) VALUES (%(order)s, %(account)s, %(status)s, %(identifiers)s,"
    " %(not_before)s, %(not_after)s, %(expires)s, %(replaces)s) RETURNING *),"
    " l AS (INSERT INTO order_authorizations (order_id, authorization_id)"
    " SELECT o.id, u.authz FROM o, unnest(%(links)s::uuid[]) AS u (authz))"
    f" SELECT {columns(OrderRow, 'o')}, {columns(AuthzRow, 'a')} FROM o LEFT JOIN a ON true"
)


def create_order(
    conn: psycopg.Connection,
    order_id: UUID,
    *,
    account_id: UUID,
    status: str,
    identifiers: list[dict[str, str]],
    expires: datetime,
    authorization_ids: list[UUID],
    new_authorizations: Sequence[NewAuthorization] = (),
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    replaces: str | None = None,
) -> tuple[OrderRow, list[AuthzRow]]:
    """Insert the new authorizations with their challenges, the order, and the links to all
    of `authorization_ids` (new and reused), in one statement: atomic without a transaction.
    Returns the order and the new authorizations."""
    new = list(new_authorizations)
    chals = [(c, a.id) for a in new for c in a.challenges]
    rows = conn.execute(
        _CREATE,
        {
            "account": account_id,
            "a_id": [a.id for a in new],
            "a_t": [a.identifier_type for a in new],
            "a_v": [a.identifier_value for a in new],
            "a_w": [a.wildcard for a in new],
            "a_e": [a.expires for a in new],
            "c_id": [c[0] for c, _ in chals],
            "c_authz": [authz for _, authz in chals],
            "c_type": [c[1] for c, _ in chals],
            "c_token": [c[2] for c, _ in chals],
            "order": order_id,
            "status": status,
            "identifiers": Jsonb(identifiers),
            "not_before": not_before,
            "not_after": not_after,
            "expires": expires,
            "replaces": replaces,
            "links": authorization_ids,
        },
    ).fetchall()
    created = parent_with_children(rows, OrderRow, AuthzRow)
    assert created is not None  # the INSERT of the order returns its row
    return created


def get_with_authorizations(
    conn: psycopg.Connection, order_id: UUID
) -> tuple[OrderRow, list[AuthzRow]] | None:
    """An order and its authorizations (ordered by identifier), in one round trip."""
    rows = conn.execute(_ORDER_WITH_AUTHZS, (order_id, order_id)).fetchall()
    return parent_with_children(rows, OrderRow, AuthzRow)


def get_order(conn: psycopg.Connection, order_id: UUID) -> OrderRow | None:
    return _one(conn, f"SELECT {_COLS} FROM orders WHERE id = %s", (order_id,))


def lock(conn: psycopg.Connection, order_id: UUID, status: str) -> OrderRow | None:
    """The order if it is in `status`, locked until the transaction ends; else None."""
    return _one(conn, f"SELECT {_COLS} FROM orders WHERE id = %s AND status = %s FOR UPDATE",
                (order_id, status))


def list_account_orders(conn: psycopg.Connection, account_id: UUID, page: Page) -> list[OrderRow]:
    """Newest first by (created_at, id), `page.limit` rows after the page's position."""
    where, params = page_clause(page)
    return _all(
        conn,
        f"SELECT {_COLS} FROM orders WHERE account_id = %s AND {' AND '.join(where)}"
        f" {order_by()} LIMIT %s",
        (account_id, *params, page.limit),
    )


def orders_for_authorization(conn: psycopg.Connection, authz_id: UUID, status: str) -> list[OrderRow]:
    """Orders in `status` that include the authorization, locked for update."""
    return _all(
        conn,
        f"SELECT {_COLS} FROM orders WHERE id = ANY({_ORDERS_OF_AUTHZ}) AND status = %s"
        f" ORDER BY id FOR UPDATE",
        (authz_id, status),
    )


def promote_completed(
    conn: psycopg.Connection, authz_id: UUID, *, from_status: str, to_status: str
) -> list[OrderRow]:
    """Compare-and-set every order in `from_status` that includes the authorization and whose
    authorizations are now all valid; returns the moved orders. Callers go through
    acmeeh.authority.states, inside a transaction.

    The orders are locked first, so that the check runs on a snapshot taken after any
    concurrent validation of the order's other authorizations has committed (two last
    authorizations turning valid at once still promote their order exactly once).
    """
    conn.execute(
        f"SELECT id FROM orders WHERE id = ANY({_ORDERS_OF_AUTHZ}) AND status = %s"
        f" ORDER BY id FOR UPDATE",
        (authz_id, from_status),
    )
    return _all(
        conn,
        f"UPDATE orders o SET status = %s, updated_at = now()"
        f" WHERE o.id = ANY({_ORDERS_OF_AUTHZ}) AND o.status = %s AND NOT EXISTS"
        f" (SELECT 1 FROM order_authorizations oa JOIN authorizations a ON a.id = oa.authorization_id"
        f" WHERE oa.order_id = o.id AND a.status <> 'valid')"
        f" RETURNING {_COLS}",
        (to_status, authz_id, from_status),
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
