"""The admin dashboard: server-rendered pages (jinja2, inline SVG charts, no script) over the
admin API's users, roles, tokens and audit; served at dashboard.path when the admin API is on."""
from __future__ import annotations

from collections.abc import Mapping

from flask import Flask

from .blueprint import dashboard

# The view modules register their routes on the blueprint when imported.
from . import views_keys, views_main, views_objects  # noqa: F401  isort: skip


def install(app: Flask, path: str, loops: Mapping[str, int]) -> None:
    """Serve the dashboard at `path` (after the admin API is installed). `loops` names the
    advisory lock of each background loop, for the worker leaders panel."""
    app.extensions["acmeeh.dashboard"] = path
    app.extensions["acmeeh.dashboard.loops"] = dict(loops)
    app.register_blueprint(dashboard, url_prefix=path)
