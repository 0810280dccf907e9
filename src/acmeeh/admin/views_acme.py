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
from ..store.records import AuthzRow, ChallengeRow
from . import render
from .blueprint import audited, body, ctx, found, json_response, note, paged
from .inputs import Query


def list_accounts() -> Response:
    q = Query(("limit", "cursor", "contact", "status", "thumbprint", "eab_kid"))
    flt = search.AccountFilter(
        contact=q.text("contact"), status=q.choice("status", list(AccountStatus)),
        thumbprint=q.text("thumbprint"), eab_kid=q.text("eab_kid"),
    )
    return paged(q, lambda conn, page: search.list_accounts(conn, page, flt), render.account)


def get_account(account_id: uuid.UUID) -> Response:
    def read(conn: Connection) -> dict[str, Any] | None:
        row = account_store.get_account(conn, account_id)
        if row is None:
            return None
        return {**render.account(row), "order_count": order_store.count_account_orders(conn, row.id)}

    return json_response(found(read, "no such account"))


@audited("account.deactivate")
def deactivate_account(account_id: uuid.UUID) -> Response:
    note(target=f"account:{account_id}")
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
    def read(conn: Connection) -> dict[str, Any] | None:
        row = order_store.get_order(conn, order_id)
        if row is None:
            return None
        authzs = authz_store.list_order_authorizations(conn, row.id)
        chals = challenge_store.list_challenges(conn, [a.id for a in authzs])
        return {**render.order(row), "authorizations": [
            _with(a, [c for c in chals if c.authorization_id == a.id]) for a in authzs]}

    return json_response(found(read, "no such order"))


def list_authorizations() -> Response:
    q = Query(("limit", "cursor", "account_id", "status", "identifier"))
    flt = search.AuthzFilter(account_id=q.uuid("account_id"),
                             status=q.choice("status", list(AuthzStatus)),
                             identifier=q.text("identifier"))
    return paged(q, lambda conn, page: search.list_authorizations(conn, page, flt),
                 render.authorization)


def get_authorization(authz_id: uuid.UUID) -> Response:
    def read(conn: Connection) -> dict[str, Any] | None:
        row = authz_store.get_authorization(conn, authz_id)
        return None if row is None else _with(row, challenge_store.list_challenges(conn, [row.id]))

    return json_response(found(read, "no such authorization"))


def _with(authz: AuthzRow, chals: list[ChallengeRow]) -> dict[str, Any]:
    return {**render.authorization(authz), "challenges": [render.challenge(c) for c in chals]}
