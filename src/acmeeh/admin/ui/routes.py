"""The dashboard's pages in one table, and the blueprint built from it."""
from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from flask import Blueprint
from werkzeug.wrappers import Response

from . import views_keys, views_main, views_objects
from .blueprint import new_blueprint


class Route(NamedTuple):
    rule: str
    methods: tuple[str, ...]
    view: Callable[..., Response]  # its name is the endpoint: dashboard.<name>


ROUTES: tuple[Route, ...] = (
    Route("/eab", ("GET",), views_keys.eab_keys),
    Route("/eab", ("POST",), views_keys.create_eab),
    Route("/eab/<kid>/revoke", ("POST",), views_keys.revoke_eab),
    Route("/webhooks", ("GET",), views_keys.webhooks_page),
    Route("/webhook-deliveries/<uuid:delivery_id>/retry", ("POST",), views_keys.retry_delivery),
    Route("/audit", ("GET",), views_keys.audit_log),
    Route("/login", ("GET",), views_main.login_form),
    Route("/login", ("POST",), views_main.login),
    Route("/logout", ("POST",), views_main.logout),
    Route("/", ("GET",), views_main.overview),
    Route("/maintenance", ("POST",), views_main.set_maintenance),
    Route("/certificates", ("GET",), views_objects.certificates),
    Route("/certificates/<uuid:cert_id>", ("GET",), views_objects.certificate),
    Route("/certificates/<uuid:cert_id>/pem", ("GET",), views_objects.certificate_pem),
    Route("/certificates/<uuid:cert_id>/revoke", ("POST",), views_objects.revoke),
    Route("/accounts", ("GET",), views_objects.accounts_page),
    Route("/accounts/<uuid:account_id>", ("GET",), views_objects.account),
    Route("/accounts/<uuid:account_id>/deactivate", ("POST",), views_objects.deactivate),
)


def dashboard_blueprint() -> Blueprint:
    """A new dashboard blueprint with every page of ROUTES."""
    bp = new_blueprint()
    for route in ROUTES:
        bp.add_url_rule(route.rule, view_func=route.view, methods=list(route.methods))
    return bp
