"""The admin API's routes in one table (each rule with its methods, as in openapi.yaml), and
the blueprint built from it.

A new endpoint is a view in the module of its resource plus one line here; nothing registers
itself on import.
"""
from __future__ import annotations

from flask import Blueprint

from . import (
    views_acme, views_audit, views_certs, views_eab, views_intents, views_keys, views_ops,
    views_pki, views_profiles, views_users, views_webhooks,
)
from .blueprint import NAME, install_handlers
from .routing import Routes, add_routes

ROUTES: Routes = {
    "/issuance-intents": {"GET": views_intents.list_intents},
    "/issuance-intents/<serial>": {"GET": views_intents.get_intent},
    "/issuance-intents/<serial>/revoke": {"POST": views_intents.revoke_intent},
    "/accounts": {"GET": views_acme.list_accounts},
    "/accounts/<uuid:account_id>": {"GET": views_acme.get_account},
    "/accounts/<uuid:account_id>/deactivate": {"POST": views_acme.deactivate_account},
    "/accounts/<uuid:account_id>/profiles": {
        "GET": views_profiles.get_account_profiles,
        "PUT": views_profiles.set_account_profiles,
    },
    "/orders": {"GET": views_acme.list_orders},
    "/orders/<uuid:order_id>": {"GET": views_acme.get_order},
    "/authorizations": {"GET": views_acme.list_authorizations},
    "/authorizations/<uuid:authz_id>": {"GET": views_acme.get_authorization},
    "/audit": {"GET": views_audit.list_audit},
    "/audit/export": {"GET": views_audit.export_audit},
    "/certificates": {"GET": views_certs.list_certificates},
    "/certificates/<uuid:cert_id>": {"GET": views_certs.get_certificate},
    "/certificates/<uuid:cert_id>/revoke": {"POST": views_certs.revoke_certificate},
    "/certificates/bulk-revoke": {"POST": views_certs.bulk_revoke},
    "/eab": {"GET": views_eab.list_eab_keys, "POST": views_eab.create_eab_key},
    "/eab/<kid>": {"GET": views_eab.get_eab_key},
    "/eab/<kid>/revoke": {"POST": views_eab.revoke_eab_key},
    "/eab/<kid>/profiles": {
        "GET": views_profiles.get_eab_profiles,
        "PUT": views_profiles.set_eab_profiles,
    },
    "/allowlists": {"GET": views_eab.list_allowlist, "POST": views_eab.add_allowlist_entry},
    "/allowlists/<uuid:entry_id>": {
        "GET": views_eab.get_allowlist_entry,
        "DELETE": views_eab.remove_allowlist_entry,
    },
    "/blocked-keys": {"GET": views_keys.list_blocked_keys, "POST": views_keys.block_key},
    "/blocked-keys/<spki_sha256>": {
        "GET": views_keys.get_blocked_key,
        "DELETE": views_keys.unblock_key,
    },
    "/openapi.json": {"GET": views_ops.openapi},
    "/maintenance": {"GET": views_ops.get_maintenance, "POST": views_ops.set_maintenance},
    "/notifications": {"GET": views_ops.list_notifications},
    "/notifications/<uuid:notification_id>/retry": {"POST": views_ops.retry_notification},
    "/notifications/retry-failed": {"POST": views_ops.retry_failed_notifications},
    "/notifications/purge": {"POST": views_ops.purge_notifications},
    "/crl": {"GET": views_pki.get_crl_status},
    "/crl/rebuild": {"POST": views_pki.rebuild_crl},
    "/certificates/<uuid:cert_id>/renewal-window": {
        "GET": views_pki.get_renewal_window,
        "PUT": views_pki.set_renewal_window,
        "DELETE": views_pki.clear_renewal_window,
    },
    "/auth/login": {"POST": views_users.login},
    "/auth/logout": {"POST": views_users.logout},
    "/users/me": {"GET": views_users.me},
    "/users": {"GET": views_users.list_users, "POST": views_users.create_user},
    "/users/<uuid:user_id>": {"GET": views_users.get_user, "PATCH": views_users.update_user},
    "/users/<uuid:user_id>/reset-password": {"POST": views_users.reset_password},
    "/webhooks": {"GET": views_webhooks.list_webhooks, "POST": views_webhooks.create_webhook},
    "/webhooks/<uuid:webhook_id>": {
        "GET": views_webhooks.get_webhook,
        "PATCH": views_webhooks.update_webhook,
        "DELETE": views_webhooks.delete_webhook,
    },
    "/webhook-deliveries": {"GET": views_webhooks.list_webhook_deliveries},
    "/webhook-deliveries/<uuid:delivery_id>": {"GET": views_webhooks.get_webhook_delivery},
    "/webhook-deliveries/<uuid:delivery_id>/retry": {"POST": views_webhooks.retry_webhook_delivery},
}


def admin_blueprint() -> Blueprint:
    """A new blueprint with every route of ROUTES, authentication and the problem documents."""
    bp = Blueprint(NAME, __name__)
    install_handlers(bp)
    return add_routes(bp, ROUTES)
