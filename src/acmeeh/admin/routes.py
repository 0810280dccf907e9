"""The admin API's routes in one table, and the blueprint built from it.

A new endpoint is a view in the module of its resource plus one line here; nothing registers
itself on import.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from flask import Blueprint, Response

from . import (
    views_acme, views_audit, views_certs, views_eab, views_intents, views_keys, views_ops,
    views_pki, views_profiles, views_users, views_webhooks,
)
from .blueprint import NAME, install_handlers


class Route(NamedTuple):
    rule: str
    methods: tuple[str, ...]
    view: Callable[..., Response]  # its name is the endpoint: admin.<name>


ROUTES: tuple[Route, ...] = (
    Route("/issuance-intents", ("GET",), views_intents.list_intents),
    Route("/issuance-intents/<serial>", ("GET",), views_intents.get_intent),
    Route("/issuance-intents/<serial>/revoke", ("POST",), views_intents.revoke_intent),
    Route("/accounts", ("GET",), views_acme.list_accounts),
    Route("/accounts/<uuid:account_id>", ("GET",), views_acme.get_account),
    Route("/accounts/<uuid:account_id>/deactivate", ("POST",), views_acme.deactivate_account),
    Route("/accounts/<uuid:account_id>/profiles", ("GET",), views_profiles.get_account_profiles),
    Route("/accounts/<uuid:account_id>/profiles", ("PUT",), views_profiles.set_account_profiles),
    Route("/orders", ("GET",), views_acme.list_orders),
    Route("/orders/<uuid:order_id>", ("GET",), views_acme.get_order),
    Route("/authorizations", ("GET",), views_acme.list_authorizations),
    Route("/authorizations/<uuid:authz_id>", ("GET",), views_acme.get_authorization),
    Route("/audit", ("GET",), views_audit.list_audit),
    Route("/audit/export", ("GET",), views_audit.export_audit),
    Route("/certificates", ("GET",), views_certs.list_certificates),
    Route("/certificates/<uuid:cert_id>", ("GET",), views_certs.get_certificate),
    Route("/certificates/<uuid:cert_id>/revoke", ("POST",), views_certs.revoke_certificate),
    Route("/certificates/bulk-revoke", ("POST",), views_certs.bulk_revoke),
    Route("/eab", ("GET",), views_eab.list_eab_keys),
    Route("/eab", ("POST",), views_eab.create_eab_key),
    Route("/eab/<kid>", ("GET",), views_eab.get_eab_key),
    Route("/eab/<kid>/revoke", ("POST",), views_eab.revoke_eab_key),
    Route("/eab/<kid>/profiles", ("GET",), views_profiles.get_eab_profiles),
    Route("/eab/<kid>/profiles", ("PUT",), views_profiles.set_eab_profiles),
    Route("/allowlists", ("GET",), views_eab.list_allowlist),
    Route("/allowlists", ("POST",), views_eab.add_allowlist_entry),
    Route("/allowlists/<uuid:entry_id>", ("GET",), views_eab.get_allowlist_entry),
    Route("/allowlists/<uuid:entry_id>", ("DELETE",), views_eab.remove_allowlist_entry),
    Route("/blocked-keys", ("GET",), views_keys.list_blocked_keys),
    Route("/blocked-keys", ("POST",), views_keys.block_key),
    Route("/blocked-keys/<spki_sha256>", ("GET",), views_keys.get_blocked_key),
    Route("/blocked-keys/<spki_sha256>", ("DELETE",), views_keys.unblock_key),
    Route("/openapi.json", ("GET",), views_ops.openapi),
    Route("/maintenance", ("GET",), views_ops.get_maintenance),
    Route("/maintenance", ("POST",), views_ops.set_maintenance),
    Route("/notifications", ("GET",), views_ops.list_notifications),
    Route("/notifications/<uuid:notification_id>/retry", ("POST",), views_ops.retry_notification),
    Route("/notifications/retry-failed", ("POST",), views_ops.retry_failed_notifications),
    Route("/notifications/purge", ("POST",), views_ops.purge_notifications),
    Route("/crl", ("GET",), views_pki.get_crl_status),
    Route("/crl/rebuild", ("POST",), views_pki.rebuild_crl),
    Route("/certificates/<uuid:cert_id>/renewal-window", ("GET",), views_pki.get_renewal_window),
    Route("/certificates/<uuid:cert_id>/renewal-window", ("PUT",), views_pki.set_renewal_window),
    Route("/certificates/<uuid:cert_id>/renewal-window", ("DELETE",),
          views_pki.clear_renewal_window),
    Route("/auth/login", ("POST",), views_users.login),
    Route("/auth/logout", ("POST",), views_users.logout),
    Route("/users/me", ("GET",), views_users.me),
    Route("/users", ("GET",), views_users.list_users),
    Route("/users", ("POST",), views_users.create_user),
    Route("/users/<uuid:user_id>", ("GET",), views_users.get_user),
    Route("/users/<uuid:user_id>", ("PATCH",), views_users.update_user),
    Route("/users/<uuid:user_id>/reset-password", ("POST",), views_users.reset_password),
    Route("/webhooks", ("GET",), views_webhooks.list_webhooks),
    Route("/webhooks", ("POST",), views_webhooks.create_webhook),
    Route("/webhooks/<uuid:webhook_id>", ("GET",), views_webhooks.get_webhook),
    Route("/webhooks/<uuid:webhook_id>", ("PATCH",), views_webhooks.update_webhook),
    Route("/webhooks/<uuid:webhook_id>", ("DELETE",), views_webhooks.delete_webhook),
    Route("/webhook-deliveries", ("GET",), views_webhooks.list_webhook_deliveries),
    Route("/webhook-deliveries/<uuid:delivery_id>", ("GET",), views_webhooks.get_webhook_delivery),
    Route("/webhook-deliveries/<uuid:delivery_id>/retry", ("POST",),
          views_webhooks.retry_webhook_delivery),
)


def admin_blueprint() -> Blueprint:
    """A new blueprint with every route of ROUTES, authentication and the problem documents."""
    bp = Blueprint(NAME, __name__)
    install_handlers(bp)
    for route in ROUTES:
        bp.add_url_rule(route.rule, view_func=route.view, methods=list(route.methods))
    return bp
