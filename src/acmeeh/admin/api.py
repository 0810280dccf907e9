"""install(app, env): mount the admin API (its routes register on the blueprint on import)."""
from __future__ import annotations

from flask import Flask

from ..authority.env import Env
from . import audit, security
from .blueprint import AdminContext, admin, routing_errors
from .spec import Spec

# The view modules register their routes on the blueprint when imported.
from . import (  # noqa: F401  isort: skip
    views_acme, views_audit, views_certs, views_eab, views_intents, views_keys, views_ops, views_pki,
    views_users, views_webhooks,
)


def install(app: Flask, env: Env) -> None:
    """Serve the admin API at admin_api.base_path (call only when admin_api.enabled)."""
    cfg = env.settings.admin_api
    base_url = env.settings.server.external_url.rstrip("/") + cfg.base_path
    app.extensions["acmeeh.admin"] = AdminContext(
        env=env, spec=Spec.load(), base_url=base_url, dummy_hash=security.dummy_hash(),
        refusals=audit.ThrottledAudit(cfg.failed_auth_audits_per_minute),
    )
    app.before_request(routing_errors(cfg.base_path))
    app.register_blueprint(admin, url_prefix=cfg.base_path)
