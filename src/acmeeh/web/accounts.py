"""Account endpoints (RFC 8555 §7.3)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from flask import Response, request

from ..authority import accounts, orders
from ..protocol import problems
from ..protocol.messages import AccountUpdate, KeyChange, NewAccount
from . import envelope, render
from .blueprint import json_response
from .context import ctx
from .errors import problem_response

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def new_account() -> Response:
    signed = envelope.verify("jwk")
    msg = NewAccount.parse(signed.payload)
    row, created = accounts.new_account(ctx().env, signed.jwk, msg, url=signed.url,
                                        remote_addr=request.remote_addr)
    urls = ctx().urls
    return json_response(render.account(row, urls), 201 if created else 200,
                         location=urls.account(row.id))


def account(account_id: uuid.UUID) -> Response:
    signed = envelope.verify("kid")
    row = envelope.account_from_path(signed, account_id)
    if not signed.is_post_as_get:
        row = accounts.update_account(ctx().env, row, AccountUpdate.parse(signed.payload))
    urls = ctx().urls
    return json_response(render.account(row, urls), location=urls.account(row.id))


def account_orders(account_id: uuid.UUID) -> Response:
    """RFC 8555 §7.1.2.1, paged with Link rel="next": a URL the client POSTs-as-GET as it is
    (the JWS url names it with its query)."""
    signed = envelope.verify("kid")
    row = envelope.account_from_path(signed, account_id)
    signed.require_post_as_get()
    after = _position(request.args.get("cursor"))
    page, following = orders.list_orders(ctx().env, row, after=after)
    urls = ctx().urls
    links: tuple[tuple[str, str], ...] = ()
    if following is not None:
        links = ((f"{urls.account_orders(row.id)}?cursor={_cursor(following)}", "next"),)
    return json_response({"orders": [urls.order(o.id) for o in page]}, links=links)


def _cursor(position: tuple[datetime, uuid.UUID]) -> str:
    """`{microseconds since the epoch}_{order id}`: characters a URL carries unescaped."""
    created, order_id = position
    return f"{(created - _EPOCH) // timedelta(microseconds=1)}_{order_id}"


def _position(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    micros, _, text = cursor.partition("_")
    try:
        if not (micros.isascii() and micros.isdigit()) or len(micros) > 20:
            raise ValueError("not microseconds")
        order_id = uuid.UUID(text)
        if str(order_id) != text:
            raise ValueError("not a canonical id")
        return _EPOCH + timedelta(microseconds=int(micros)), order_id
    except (ValueError, OverflowError):
        raise problems.malformed("the cursor is not one this server handed out") from None


def key_change() -> Response:
    signed = envelope.verify("kid")
    row = signed.need_account()
    msg = KeyChange.parse(signed.payload)
    urls = ctx().urls
    try:
        row = accounts.change_key(ctx().env, row, urls.account(row.id), signed.url, msg)
    except accounts.KeyTaken as taken:
        resp = problem_response(taken)
        resp.headers["Location"] = urls.account(taken.account_id)
        return resp
    return json_response(render.account(row, urls), location=urls.account(row.id))
