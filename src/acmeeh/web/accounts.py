"""Account endpoints (RFC 8555 §7.3)."""
from __future__ import annotations

import uuid
from datetime import datetime

from flask import Response, request

from ..authority import accounts, orders
from ..protocol import problems
from ..protocol.messages import AccountUpdate, KeyChange, NewAccount
from . import envelope, render
from .blueprint import acme, json_response
from .context import ctx
from .errors import problem_response


@acme.post("/new-account")
def new_account() -> Response:
    signed = envelope.verify("jwk")
    msg = NewAccount.parse(signed.payload)
    row, created = accounts.new_account(ctx().env, signed.jwk, msg, url=signed.url,
                                        remote_addr=request.remote_addr)
    urls = ctx().urls
    return json_response(render.account(row, urls), 201 if created else 200,
                         location=urls.account(row.id))


@acme.post("/account/<uuid:account_id>")
def account(account_id: uuid.UUID) -> Response:
    signed = envelope.verify("kid")
    row = envelope.account_from_path(signed, account_id)
    if not signed.is_post_as_get:
        row = accounts.update_account(ctx().env, row, AccountUpdate.parse(signed.payload))
    urls = ctx().urls
    return json_response(render.account(row, urls), location=urls.account(row.id))


@acme.post("/account/<uuid:account_id>/orders")
def account_orders(account_id: uuid.UUID) -> Response:
    """RFC 8555 §7.1.2.1, paged with Link rel="next"."""
    signed = envelope.verify("kid")
    row = envelope.account_from_path(signed, account_id)
    signed.require_post_as_get()
    before = _cursor(request.args.get("cursor"))
    page, next_cursor = orders.list_orders(ctx().env, row, before=before)
    urls = ctx().urls
    links: tuple[tuple[str, str], ...] = ()
    if next_cursor is not None:
        links = ((f"{urls.account_orders(row.id)}?cursor={next_cursor.isoformat()}", "next"),)
    return json_response({"orders": [urls.order(o.id) for o in page]}, links=links)


def _cursor(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw.replace(" ", "+"))
    except ValueError:
        raise problems.malformed("invalid cursor") from None


@acme.post("/key-change")
def key_change() -> Response:
    signed = envelope.verify("kid")
    row = signed.need_account()
    inner = KeyChange.parse(signed.payload).jws
    urls = ctx().urls
    try:
        row = accounts.change_key(ctx().env, row, urls.account(row.id), signed.url, inner)
    except accounts.KeyTaken as taken:
        resp = problem_response(taken)
        resp.headers["Location"] = urls.account(taken.account_id)
        return resp
    return json_response(render.account(row, urls), location=urls.account(row.id))
