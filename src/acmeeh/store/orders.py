"""orders and order_authorizations tables."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from .db import fetch_all, fetch_one
from .filters import Where, listing
from .paging import Page, order_by
from .records import AuthzRow, OrderRow, columns, parent_with_children

_COLS = columns(OrderRow)

# The ids of an order's authorizations (or an authorization's orders) are collected first,
# as an ARRAY(...) evaluated once, and then looked up by primary key: the plan stays an index
# lookup whatever the planner believes of the table sizes (a join here was hash-joined against
# a sequential scan of a young, small table).
GET_WITH_AUTHORIZATIONS = f"""
SELECT {columns(OrderRow, 'o')}, {columns(AuthzRow, 'a')}
FROM orders o
LEFT JOIN authorizations a ON a.id = ANY(
    ARRAY(SELECT authorization_id FROM order_authorizations WHERE order_id = %(id)s))
WHERE o.id = %(id)s
ORDER BY a.identifier_type, a.identifier_value, a.wildcard
"""

GET = f"""
SELECT {_COLS} FROM orders WHERE id = %(id)s
"""

LOCK_IN_STATUS = f"""
SELECT {_COLS} FROM orders WHERE id = %(id)s AND status = %(status)s FOR UPDATE
"""

# A page of an account's orders: {where} is filled in by list_account_orders.
LIST_OF_ACCOUNT = f"""
SELECT {_COLS} FROM orders
WHERE account_id = %(account_id)s AND {{where}}
{{order}} LIMIT %(limit)s
"""

COUNT_OF_ACCOUNT = """
SELECT count(*) FROM orders WHERE account_id = %(account_id)s
"""

OF_AUTHORIZATION_FOR_UPDATE = f"""
SELECT {_COLS} FROM orders
WHERE id = ANY(ARRAY(SELECT order_id FROM order_authorizations
                     WHERE authorization_id = %(authz_id)s))
  AND status = %(status)s
ORDER BY id FOR UPDATE
"""

# The transition pending → ready of every order of an authorization whose authorizations are
# all valid now (see promote_completed for when "now" is late enough).

PROMOTE_COMPLETED = f"""
UPDATE orders o SET status = %(to_status)s, updated_at = now()
WHERE o.id = ANY(ARRAY(SELECT order_id FROM order_authorizations
                       WHERE authorization_id = %(authz_id)s))
  AND o.status = %(from_status)s
  AND NOT EXISTS (SELECT 1 FROM order_authorizations oa
                  JOIN authorizations a ON a.id = oa.authorization_id
                  WHERE oa.order_id = o.id AND a.status <> 'valid')
RETURNING {_COLS}
"""

# Compare-and-set of an order's status (authority.states.move_order).
MOVE = f"""
UPDATE orders SET status = %(to_status)s, error = COALESCE(%(error)s, error),
                  certificate_id = COALESCE(%(certificate_id)s, certificate_id),
                  updated_at = now()
WHERE id = %(id)s AND status = %(from_status)s
RETURNING {_COLS}
"""


@dataclass(frozen=True)
class NewAuthorization:
    """A pending authorization to create with an order, with its challenges (id, type, token)."""

    id: UUID
    identifier_type: str
    identifier_value: str
    wildcard: bool
    expires: datetime
    challenges: tuple[tuple[UUID, str, str], ...]


# A new order, fused with its new authorizations and their challenges and the links to all
# its authorizations (new and reused): one statement, so atomic without a transaction.
CREATE_WITH_AUTHORIZATIONS = f"""
WITH a AS (
    INSERT INTO authorizations (id, account_id, identifier_type, identifier_value, wildcard,
                                status, expires)
    SELECT u.id, %(account)s, u.t, u.v, u.w, 'pending', u.e
    FROM unnest(%(a_id)s::uuid[], %(a_t)s::text[], %(a_v)s::text[], %(a_w)s::boolean[],
                %(a_e)s::timestamptz[]) AS u (id, t, v, w, e)
    RETURNING *
), c AS (
    INSERT INTO challenges (id, authorization_id, type, token, status)
    SELECT u.id, u.authz, u.type, u.token, 'pending'
    FROM unnest(%(c_id)s::uuid[], %(c_authz)s::uuid[], %(c_type)s::text[],
                %(c_token)s::text[]) AS u (id, authz, type, token)
), o AS (
    INSERT INTO orders (id, account_id, status, identifiers, not_before, not_after, expires,
                        replaces, profile)
    VALUES (%(order)s, %(account)s, %(status)s, %(identifiers)s, %(not_before)s,
            %(not_after)s, %(expires)s, %(replaces)s, %(profile)s)
    RETURNING *
), l AS (
    INSERT INTO order_authorizations (order_id, authorization_id)
    SELECT o.id, u.authz FROM o, unnest(%(links)s::uuid[]) AS u (authz)
)
SELECT {columns(OrderRow, 'o')}, {columns(AuthzRow, 'a')} FROM o LEFT JOIN a ON true
"""


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
    profile: str | None = None,
) -> tuple[OrderRow, list[AuthzRow]]:
    """Insert the new authorizations with their challenges, the order, and the links to all
    of `authorization_ids` (new and reused), in one statement: atomic without a transaction.
    Returns the order and the new authorizations."""
    new = list(new_authorizations)
    chals = [(c, a.id) for a in new for c in a.challenges]
    rows = conn.execute(
        CREATE_WITH_AUTHORIZATIONS,
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
            "profile": profile,
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
    rows = conn.execute(GET_WITH_AUTHORIZATIONS, {"id": order_id}).fetchall()
    return parent_with_children(rows, OrderRow, AuthzRow)


def get_order(conn: psycopg.Connection, order_id: UUID) -> OrderRow | None:
    return fetch_one(conn, OrderRow, GET, {"id": order_id})


def lock(conn: psycopg.Connection, order_id: UUID, status: str) -> OrderRow | None:
    """The order if it is in `status`, locked until the transaction ends; else None."""
    return fetch_one(conn, OrderRow, LOCK_IN_STATUS, {"id": order_id, "status": status})


def list_account_orders(conn: psycopg.Connection, account_id: UUID, page: Page) -> list[OrderRow]:
    """Newest first by (created_at, id), `page.limit` rows after the page's position."""
    where = Where.after(page)
    query = listing(LIST_OF_ACCOUNT, where, order_by())
    params = where.params | {"account_id": account_id, "limit": page.limit}
    return fetch_all(conn, OrderRow, query, params)


def orders_for_authorization(conn: psycopg.Connection, authz_id: UUID, status: str) -> list[OrderRow]:
    """Orders in `status` that include the authorization, locked for update."""
    return fetch_all(conn, OrderRow, OF_AUTHORIZATION_FOR_UPDATE,
                     {"authz_id": authz_id, "status": status})


def promote_completed(
    conn: psycopg.Connection, authz_id: UUID, *, from_status: str, to_status: str
) -> list[OrderRow]:
    """Compare-and-set every order in `from_status` that includes the authorization and whose
    authorizations are now all valid; returns the moved orders. For a caller outside any
    transaction whose statement that made the authorization valid has committed already
    (store.challenges.pass_with_authorization_and_orders and
    accept_with_authorization_and_orders): of two last authorizations of an order made valid
    at once, the promotion that comes later sees both."""
    return fetch_all(conn, OrderRow, PROMOTE_COMPLETED,
                     {"authz_id": authz_id, "from_status": from_status, "to_status": to_status})


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
    return fetch_one(conn, OrderRow, MOVE, {
        "id": order_id, "from_status": from_status, "to_status": to_status,
        "error": Jsonb(error) if error is not None else None, "certificate_id": certificate_id,
    })


def count_account_orders(conn: psycopg.Connection, account_id: UUID) -> int:
    row = conn.execute(COUNT_OF_ACCOUNT, {"account_id": account_id}).fetchone()
    return int(row[0]) if row else 0
