"""install(app, env): mount the admin API (the routes of admin/routes.py); the caller keeps
the AdminContext it returns."""
from __future__ import annotations

from flask import Flask

from ..authority.env import Env
from . import audit, security
from .blueprint import AdminContext, routing_errors
from .routes import admin_blueprint
from .spec import Spec


def install(app: Flask, env: Env) -> AdminContext:
    """Serve the admin API at admin_api.base_path (call only when admin_api.enabled); the
    returned context is what admin.blueprint.ctx() hands the views (app.admin)."""
    cfg = env.settings.admin_api
    base_url = env.settings.server.external_url.rstrip("/") + cfg.base_path
    context = AdminContext(
        env=env, spec=Spec.load(), base_url=base_url, dummy_hash=security.dummy_hash(),
        refusals=audit.ThrottledAudit(cfg.failed_auth_audits_per_minute),
    )
    app.before_request(routing_errors(cfg.base_path))
    app.register_blueprint(admin_blueprint(), url_prefix=cfg.base_path)
    return context
