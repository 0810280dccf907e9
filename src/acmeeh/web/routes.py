"""The ACME API's routes in one table (RFC 8555 §7.1), and the blueprint built from it.

A new endpoint is a handler in the module of its resource plus one line here; nothing
registers itself on import.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from flask import Blueprint, Response

from . import accounts, authz, certs, directory, orders, pki
from .blueprint import NAME, fresh_nonce


class Route(NamedTuple):
    rule: str
    methods: tuple[str, ...]
    handler: Callable[..., Response]  # its name is the endpoint: acme.<name>


POST = ("POST",)

ROUTES: tuple[Route, ...] = (
    Route("/directory", ("GET", "POST"), directory.directory),
    Route("/new-nonce", ("HEAD", "GET"), directory.new_nonce),
    Route("/new-account", POST, accounts.new_account),
    Route("/account/<uuid:account_id>", POST, accounts.account),
    Route("/account/<uuid:account_id>/orders", POST, accounts.account_orders),
    Route("/key-change", POST, accounts.key_change),
    Route("/new-order", POST, orders.new_order),
    Route("/order/<uuid:order_id>", POST, orders.order),
    Route("/order/<uuid:order_id>/finalize", POST, orders.finalize),
    Route("/new-authz", POST, authz.new_authz),
    Route("/authz/<uuid:authz_id>", POST, authz.authz),
    Route("/chall/<uuid:challenge_id>", POST, authz.challenge),
    Route("/cert/<uuid:cert_id>", POST, certs.certificate),
    Route("/cert/<uuid:cert_id>/<int(min=1):index>", POST, certs.alternate),  # RFC 8555 §7.4.2
    Route("/issuer", ("GET", "POST"), certs.issuer),
    Route("/revoke-cert", POST, certs.revoke_cert),
    Route(f"{pki.RENEWAL_INFO_PATH}/<cert_id>", ("GET",), pki.renewal_info),  # RFC 9773
)


def acme_blueprint() -> Blueprint:
    """A new blueprint with every route of ROUTES; every response the app sends for the ACME
    API gets a fresh nonce and the directory link (blueprint.fresh_nonce)."""
    bp = Blueprint(NAME, __name__)
    for route in ROUTES:
        bp.add_url_rule(route.rule, view_func=route.handler, methods=list(route.methods))
    bp.after_app_request(fresh_nonce)
    return bp
