"""The Prometheus scrape endpoint: `metrics.path` (default /metrics), outside the ACME prefix.

Under gunicorn every worker writes its samples to PROMETHEUS_MULTIPROC_DIR and a scrape of any
worker returns the sum over all of them (acmeeh.metrics.scrape_registry).

Authentication (`metrics.auth_required`): a bearer token, `Authorization: Bearer <metrics.token>`
(RFC 6750 §2.1), compared in constant time. Bearer rather than Basic because Prometheus'
`authorization: {credentials_file: ...}` scrape setting sends exactly that, and there is no
user name to manage. A missing or wrong token gets 401 with `WWW-Authenticate: Bearer`.
"""
from __future__ import annotations

import hmac
from collections.abc import Callable

from flask import Blueprint, Flask, Response, request

from .. import metrics
from ..config import ConfigError
from ..config.settings import Settings

REALM = "acmeeh metrics"


def _authorized(token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def install(app: Flask, settings: Settings, *, started: float,
            refresh: Callable[[], None] | None = None) -> None:
    """Serve the metrics at `settings.metrics.path` when `metrics.enabled`.

    `started` (epoch seconds) is what acmeeh_uptime_seconds counts from; `refresh` sets the
    scrape-time gauges before each scrape is rendered. Raises ConfigError when auth_required
    is set without a token.
    """
    cfg = settings.metrics
    if not cfg.enabled:
        return
    token = cfg.token
    if cfg.auth_required and not token:
        raise ConfigError(["metrics.token: required when metrics.auth_required is true"])
    bp = Blueprint("metrics", __name__)

    def scrape() -> Response:
        if cfg.auth_required and not (token and _authorized(token)):
            resp = Response("authentication required\n", status=401, content_type="text/plain")
            resp.headers["WWW-Authenticate"] = f'Bearer realm="{REALM}"'
            return resp
        if refresh is not None:
            refresh()
        body, content_type = metrics.render(metrics.scrape_registry(started))
        resp = Response(body, content_type=content_type)
        resp.headers["Cache-Control"] = "no-store"
        return resp

    bp.add_url_rule(cfg.path, "scrape", scrape, methods=["GET"])
    app.register_blueprint(bp)
