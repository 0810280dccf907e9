"""The dashboard's pages in one table, and the blueprint built from it."""
from __future__ import annotations

from flask import Blueprint

from ..routing import Routes, add_routes
from . import views_keys, views_main, views_objects
from .blueprint import new_blueprint

ROUTES: Routes = {
    "/eab": {"GET": views_keys.eab_keys, "POST": views_keys.create_eab},
    "/eab/<kid>/revoke": {"POST": views_keys.revoke_eab},
    "/webhooks": {"GET": views_keys.webhooks_page},
    "/webhook-deliveries/<uuid:delivery_id>/retry": {"POST": views_keys.retry_delivery},
    "/audit": {"GET": views_keys.audit_log},
    "/login": {"GET": views_main.login_form, "POST": views_main.login},
    "/logout": {"POST": views_main.logout},
    "/": {"GET": views_main.overview},
    "/maintenance": {"POST": views_main.set_maintenance},
    "/certificates": {"GET": views_objects.certificates},
    "/certificates/<uuid:cert_id>": {"GET": views_objects.certificate},
    "/certificates/<uuid:cert_id>/pem": {"GET": views_objects.certificate_pem},
    "/certificates/<uuid:cert_id>/revoke": {"POST": views_objects.revoke},
    "/accounts": {"GET": views_objects.accounts_page},
    "/accounts/<uuid:account_id>": {"GET": views_objects.account},
    "/accounts/<uuid:account_id>/deactivate": {"POST": views_objects.deactivate},
}


def dashboard_blueprint() -> Blueprint:
    """A new dashboard blueprint with every page of ROUTES."""
    return add_routes(new_blueprint(), ROUTES)
