"""ACME accounts, orders and authorizations: search, inspect, deactivate an account."""
from __future__ import annotations

import uuid
from typing import Any

from flask import Response

from ..authority import accounts
from ..protocol.status import AccountStatus, AuthzStatus, OrderStatus
from ..store import accounts as account_store
from ..store import authzs as authz_store
from ..store import challenges as challenge_store
from ..store import orders as order_store
from ..store import search
from ..store.db import Connection
from ..store.records import AccountRow, AuthzRow, ChallengeRow, OrderRow
from . import render
from .blueprint import audited, body, ctx, detail, json_response, paged
from .inputs import Query


def list_accounts() -> Response:
    q = Query(("limit", "cursor", "contact", "status", "thumbprint", "eab_kid"))
    flt = search.AccountFilter(
        contact=q.text("contact"), status=q.choice("status", list(AccountStatus)),
        thumbprint=q.text("thumbprint"), eab_kid=q.text("eab_kid"),
    )
    return paged(q, lambda conn, page: search.list_accounts(conn, page, flt), render.account)


def get_account(account_id: uuid.UUID) -> Response:
    return detail(lambda conn: account_store.get_account(conn, account_id), _account,
                  "no such account")


def _account(conn: Connection, row: AccountRow) -> dict[str, Any]:
    return {**render.account(row), "order_count": order_store.count_account_orders(conn, row.id)}


@audited("account.deactivate", target="account:{account_id}")
def deactivate_account(account_id: uuid.UUID) -> Response:
    body("Empty", optional=True)
    row = accounts.deactivate_by_admin(ctx().env, account_id)
    return json_response(render.account(row))


def list_orders() -> Response:
    q = Query(("limit", "cursor", "account_id", "status", "identifier", "created_after",
               "created_before"))
    flt = search.OrderFilter(
        account_id=q.uuid("account_id"), status=q.choice("status", list(OrderStatus)),
        identifier=q.text("identifier"), created_after=q.time("created_after"),
        created_before=q.time("created_before"),
    )
    return paged(q, lambda conn, page: search.list_orders(conn, page, flt), render.order)


def get_order(order_id: uuid.UUID) -> Response:
    """The order with its authorizations and their challenges (validation records, errors)."""
    return detail(lambda conn: order_store.get_order(conn, order_id), _order, "no such order")


def _order(conn: Connection, row: OrderRow) -> dict[str, Any]:
    authzs = authz_store.list_order_authorizations(conn, row.id)
    chals = challenge_store.list_challenges(conn, [a.id for a in authzs])
    return {**render.order(row), "authorizations": [
        _with(a, [c for c in chals if c.authorization_id == a.id]) for a in authzs]}


def list_authorizations() -> Response:
    q = Query(("limit", "cursor", "account_id", "status", "identifier"))
    flt = search.AuthzFilter(account_id=q.uuid("account_id"),
                             status=q.choice("status", list(AuthzStatus)),
                             identifier=q.text("identifier"))
    return paged(q, lambda conn, page: search.list_authorizations(conn, page, flt),
                 render.authorization)


def get_authorization(authz_id: uuid.UUID) -> Response:
    return detail(lambda conn: authz_store.get_authorization(conn, authz_id),
                  lambda conn, row: _with(row, challenge_store.list_challenges(conn, [row.id])),
                  "no such authorization")


def _with(authz: AuthzRow, chals: list[ChallengeRow]) -> dict[str, Any]:
    return {**render.authorization(authz), "challenges": [render.challenge(c) for c in chals]}
