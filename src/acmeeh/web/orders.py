"""Order endpoints (RFC 8555 §7.4): newOrder, order, finalize."""
from __future__ import annotations

import uuid

from flask import Response, request

from ..authority import finalize as finalizing
from ..authority import orders
from ..authority.orders import OrderState
from ..protocol.messages import Finalize, NewOrder
from ..protocol.status import OrderStatus
from ..store import signed_reads
from . import envelope, render
from .blueprint import json_response, retry_after
from .context import ctx


def _order_response(state: OrderState, status: int = 200) -> Response:
    urls = ctx().urls
    wait = retry_after() if state.order.status == OrderStatus.PROCESSING else None
    return json_response(render.order(state, urls), status,
                         location=urls.order(state.order.id), retry_after=wait)


def new_order() -> Response:
    signed = envelope.verify("kid", signed_reads.new_order_checks_of_account())
    msg = NewOrder.parse(signed.payload)
    state = orders.new_order(ctx().env, signed.need_account(), msg,
                             remote_addr=request.remote_addr, checks=signed.read)
    return _order_response(state, 201)


def order(order_id: uuid.UUID) -> Response:
    signed = envelope.verify("kid", signed_reads.order(order_id))
    signed.require_post_as_get()
    return _order_response(orders.order_state(ctx().env, signed.need_account(), signed.read))


def finalize(order_id: uuid.UUID) -> Response:
    signed = envelope.verify("kid", signed_reads.order(order_id))
    msg = Finalize.parse(signed.payload)
    state = finalizing.finalize(ctx().env, signed.need_account(), signed.read, msg,
                                remote_addr=request.remote_addr)
    return _order_response(state)
