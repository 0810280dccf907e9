"""create_app(settings): the one place that wires pool, CA, validator, env and blueprints.

It only builds: nothing starts here (runtime.start does), and every blueprint is registered
below by name.
"""
from __future__ import annotations

import logging
import os
import time

from flask import Flask

from . import __version__, logs, metrics
from .admin.api import install as install_admin_api
from .admin.blueprint import AdminContext
from .admin.ui import DashboardContext
from .admin.ui import install as install_dashboard
from .authority import challenges, nonces
from .authority.env import Env
from .authority.ocsp import OCSPResponder
from .config.settings import Settings
from .issuance import load_backend
from .issuance.chains import load_alternates
from .issuance.lint import Linter
from .runtime import Runtime
from .store import db, migrate
from .store.db import Pool
from .validation import NetworkValidator
from .web import errors, gauges, health, metrics_view, observe, pki
from .web.bodies import BodyLimit
from .web.context import WebContext
from .web.ocsp_get import OCSPGet
from .web.proxy import ProxyFix
from .web.routes import acme_blueprint
from .web.urls import Urls
from .workers.supervisor import LOOPS
from .workers.validation import ValidationRunner

log = logging.getLogger("acmeeh")
# Set by the gunicorn master (epoch seconds) so every worker reports the server's uptime.
STARTED_AT_ENV = "ACMEEH_STARTED_AT"


class AcmeehApp(Flask):
    """The WSGI application create_app builds; what it wired is reached through these typed
    attributes (web.context.ctx, admin.blueprint.ctx, runtime.start), never by a string key."""

    def __init__(self, web: WebContext, runtime: Runtime) -> None:
        super().__init__("acmeeh")
        self.web = web
        self.runtime = runtime
        self.admin: AdminContext | None = None  # admin_api.enabled
        self.dashboard: DashboardContext | None = None  # dashboard.enabled too
        self.ocsp: OCSPResponder | None = None  # ocsp.enabled


def create_app(settings: Settings, *, pool: Pool | None = None) -> AcmeehApp:
    """Build the WSGI application for `settings`: open the pool (or use `pool`), apply the
    migrations when database.auto_setup, load the CA and wire everything. No thread starts
    here: call runtime.start(app) in the process that serves."""
    logs.configure_audit(settings.logging.audit.enabled, settings.logging.audit.file)
    if settings.dev.enabled:
        log.warning("DEVELOPMENT MODE: not for production use")
    if settings.challenges.auto_accept:
        log.warning("challenges.auto_accept is ON: challenges are accepted without validation")
    if not settings.caa.enabled:
        log.warning("caa.enabled is false: CAA records (RFC 8659) are not checked before issuance")
    owned = pool is None  # opened here: closed here too when building fails
    if pool is None:
        pool = db.open_pool(settings.database)
    try:
        return _build(settings, pool)
    except BaseException:
        if owned:
            pool.close(timeout=1.0)
        raise


def _build(settings: Settings, pool: Pool) -> AcmeehApp:
    if settings.database.auto_setup:
        with pool.connection() as conn:
            applied = migrate.migrate(conn)
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
    cfg = settings.challenges
    # The heartbeat renews what this process holds well before the challenge worker of any
    # instance would call it stale.
    runner = ValidationRunner(cfg.validation_threads, capacity=cfg.validation_queue_size,
                              heartbeat_seconds=cfg.background_worker.stale_seconds / 3,
                              validate=challenges.validate, keep_alive=challenges.keep_alive)
    crl_url, ocsp_url = pki.status_urls(settings)  # CRL DP and AIA OCSP of issued certificates
    with pool.connection() as conn:
        nonce_key = nonces.load_key(conn)
    urls = Urls.from_settings(settings)
    ca = load_backend(settings.ca, crl_url=crl_url, ocsp_url=ocsp_url)
    env = Env(
        nonce_key=nonce_key,
        settings=settings,
        pool=pool,
        ca=ca,
        validator=NetworkValidator(settings.challenges),
        dispatch=runner.submit,
        account_url=urls.account,  # CAA accounturi (RFC 8657)
        linter=Linter(settings.lint.linter, settings.lint.ignore) if settings.lint.enabled else None,
        alternate_chains=load_alternates(settings.ca.alternate_chains, ca.issuer_certificate),
    )
    runtime = Runtime(env=env, pool=pool, runner=runner,
                      started_at=float(os.environ.get(STARTED_AT_ENV) or time.time()))
    app = AcmeehApp(WebContext(env=env, urls=urls), runtime)
    app.config["MAX_CONTENT_LENGTH"] = settings.server.max_body_bytes
    # No implicit OPTIONS route: a 405 then names exactly the methods a resource takes
    # (Allow: POST on the POST-only ACME resources).
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.json.sort_keys = False  # type: ignore[attr-defined]
    errors.install(app, retry_after=settings.server.unavailable_retry_after_seconds)
    observe.install(app, access_log=settings.logging.access_log.enabled)  # request id, metrics, access log
    health.install(app, env, runtime)  # /livez /healthz /readyz
    metrics_view.install(app, settings, started=runtime.started_at,  # metrics.path
                         refresh=lambda: gauges.refresh(env))
    metrics.CONFIG.labels(version=__version__, external_url=settings.server.external_url,
                          challenges=",".join(settings.challenges.enabled)).set(1)
    app.register_blueprint(acme_blueprint(), url_prefix=settings.acme.path_prefix or None)
    app.ocsp = OCSPResponder.from_env(env) if settings.ocsp.enabled else None
    if app.ocsp is not None and settings.ocsp.listen_for_revocations:
        runtime.ocsp_states = app.ocsp.states  # kept true by the listener runtime.start starts
    app.register_blueprint(pki.blueprint(env, app.ocsp))  # CRL and OCSP at crl.path / ocsp.path
    if settings.admin_api.enabled:  # admin REST API at admin_api.base_path
        app.admin = install_admin_api(app, env)
        if settings.dashboard.enabled:  # the dashboard at dashboard.path, on the same users
            loops = {spec.name: int(spec.lock_id) for spec in LOOPS}
            app.dashboard = install_dashboard(app, settings.dashboard.path, loops, app.ocsp)
    runtime.started = True
    # Chunked bodies counted as they are read; refused bodies drained so the client sees 413.
    app.wsgi_app = BodyLimit(app.wsgi_app, settings.server.max_body_bytes)  # type: ignore[method-assign]
    if app.ocsp is not None:  # the OCSP GET form answered beneath Flask (same answer, cheaper)
        app.wsgi_app = OCSPGet(app.wsgi_app, env, app.ocsp,  # type: ignore[method-assign]
                               access_log=settings.logging.access_log.enabled)
    if settings.proxy.enabled:  # client addresses for rate limits and logs
        app.wsgi_app = ProxyFix(app.wsgi_app, settings.proxy.trusted_proxies)  # type: ignore[method-assign]
    return app
