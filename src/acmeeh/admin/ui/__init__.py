"""The admin dashboard: server-rendered pages (jinja2, inline SVG charts, no script) over the
admin API's users, roles, tokens and audit; served at dashboard.path when the admin API is on."""
from __future__ import annotations

from collections.abc import Mapping

from flask import Flask

from ...authority.ocsp import OCSPResponder
from .routes import dashboard_blueprint
from .session import DashboardContext

__all__ = ["DashboardContext", "install"]


def install(app: Flask, path: str, loops: Mapping[str, int],
            ocsp: OCSPResponder | None) -> DashboardContext:
    """Serve the dashboard at `path` (after the admin API is installed). `loops` names the
    advisory lock of each background loop, for the worker leaders panel; `ocsp` is the
    responder whose signer the overview shows. The caller keeps the returned context
    (app.dashboard)."""
    app.register_blueprint(dashboard_blueprint(), url_prefix=path)
    return DashboardContext(path=path, loops=dict(loops), ocsp=ocsp)
