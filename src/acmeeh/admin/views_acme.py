"""ACME accounts, orders and authorizations: search, inspect, deactivate an account."""
from __future__ import annotations

import uuid

from flask import Response

from ..authority import accounts
from ..protocol.status import AccountStatus, AuthzStatus, OrderStatus
from ..store import accounts as account_store
from ..store import authzs as authz_store
from ..store import challenges as challenge_store
from ..store import orders as order_store
from ..store import search
from . import problems, render
from .blueprint import audited, body, ctx, json_response, listing, note
from .inputs import Query


def list_accounts() -> Response:
    q = Query(("limit", "cursor", "contact", "status", "thumbprint", "eab_kid"))
    page = q.page(ctx().cfg.max_page_size)
    flt = search.AccountFilter(
        contact=q.text("contact"), status=q.choice("status", list(AccountStatus)),
        thumbprint=q.text("thumbprint"), eab_kid=q.text("eab_kid"),
    )
    with ctx().env.pool.connection() as conn:
        rows = search.list_accounts(conn, page, flt)
    return listing(rows, page, render.account)


def get_account(account_id: uuid.UUID) -> Response:
    Query(())
    with ctx().env.pool.connection() as conn:
        row = account_store.get_account(conn, account_id)
        if row is None:
            raise problems.not_found("no such account")
        count = order_store.count_account_orders(conn, row.id)
    return json_response({**render.account(row), "order_count": count})


@audited("account.deactivate")
def deactivate_account(account_id: uuid.UUID) -> Response:
    note(target=f"account:{account_id}")
    body("Empty", optional=True)
    row = accounts.deactivate_by_admin(ctx().env, account_id)
    return json_response(render.account(row))


def list_orders() -> Response:
    q = Query(("limit", "cursor", "account_id", "status", "identifier", "created_after",
               "created_before"))
    page = q.page(ctx().cfg.max_page_size)
    flt = search.OrderFilter(
        account_id=q.uuid("account_id"), status=q.choice("status", list(OrderStatus)),
        identifier=q.text("identifier"), created_after=q.time("created_after"),
        created_before=q.time("created_before"),
    )
    with ctx().env.pool.connection() as conn:
        rows = search.list_orders(conn, page, flt)
    return listing(rows, page, render.order)


def get_order(order_id: uuid.UUID) -> Response:
    """The order with its authorizations and their challenges (validation records, errors)."""
    Query(())
    with ctx().env.pool.connection() as conn:
        row = order_store.get_order(conn, order_id)
        if row is None:
            raise problems.not_found("no such order")
        authzs = authz_store.list_order_authorizations(conn, row.id)
        chals = challenge_store.list_challenges(conn, [a.id for a in authzs])
    return json_response({**render.order(row), "authorizations": [
        {**render.authorization(a),
         "challenges": [render.challenge(c) for c in chals if c.authorization_id == a.id]}
        for a in authzs
    ]})


def list_authorizations() -> Response:
    q = Query(("limit", "cursor", "account_id", "status", "identifier"))
    page = q.page(ctx().cfg.max_page_size)
    flt = search.AuthzFilter(account_id=q.uuid("account_id"),
                             status=q.choice("status", list(AuthzStatus)),
                             identifier=q.text("identifier"))
    with ctx().env.pool.connection() as conn:
        rows = search.list_authorizations(conn, page, flt)
    return listing(rows, page, render.authorization)


def get_authorization(authz_id: uuid.UUID) -> Response:
    Query(())
    with ctx().env.pool.connection() as conn:
        row = authz_store.get_authorization(conn, authz_id)
        if row is None:
            raise problems.not_found("no such authorization")
        chals = challenge_store.list_challenges(conn, [row.id])
    return json_response({**render.authorization(row),
                          "challenges": [render.challenge(c) for c in chals]})
