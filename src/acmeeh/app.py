"""create_app(settings): the one place that wires pool, CA, validator, env and blueprints."""
from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from flask import Flask

from . import __version__, logs, metrics
from .admin.api import install as install_admin_api
from .admin.ui import install as install_dashboard
from .authority import challenges, drain, nonces
from .authority.env import Env
from .issuance import load_backend
from .store import db, migrate
from .store.db import Pool as ConnectionPool
from .validation import NetworkValidator
from .web import errors, gauges, health, metrics_view, observe
from .web.blueprint import acme
from .web.bodies import BodyLimit
from .web.context import WebContext
from .web.proxy import ProxyFix
from .web.urls import Urls
from .workers.pool_gauges import PoolSampler
from .workers.supervisor import LOOPS, Supervisor
from .workers.validation import ValidationRunner

# The handler modules register their routes on the blueprint when imported.
from .web import accounts, authz, certs, directory, orders, pki  # noqa: F401  isort: skip

log = logging.getLogger("acmeeh")
# Set by the gunicorn master (epoch seconds) so every worker reports the server's uptime.
STARTED_AT_ENV = "ACMEEH_STARTED_AT"


@dataclass
class Runtime:
    """What create_app built, the process's lifecycle state, and what shutdown must close."""

    env: Env
    pool: ConnectionPool
    runner: ValidationRunner
    supervisor: Supervisor | None = None
    sampler: PoolSampler | None = None  # this process's pool in the metrics
    started: bool = False  # create_app finished: /readyz may answer ready
    shutting_down: bool = False  # a stop began: /readyz answers 503
    started_at: float = field(default_factory=time.time)
    stopping_since: float | None = None  # time.monotonic() when the stop began
    _closed: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def begin_shutdown(self) -> None:
        """Stop being ready; requests in flight go on. Only sets flags (safe in a signal handler)."""
        if self.stopping_since is None:
            self.stopping_since = time.monotonic()
        self.shutting_down = True

    def shutdown(self, timeout: float = 10.0) -> list[UUID]:
        """Stop within about `timeout` seconds (idempotent): stop the background loops (their
        locks go to another instance), let running validations finish until the deadline, put
        the challenges still validating back to pending, close the pool. Returns those put back.
        """
        with self._lock:
            if self._closed:
                return []
            self._closed = True
        self.begin_shutdown()
        deadline = time.monotonic() + max(0.0, timeout)
        if self.supervisor is not None:  # first: its ticks dispatch validations and use the pool
            self.supervisor.stop(timeout=max(0.5, deadline - time.monotonic()))
        while self.runner.busy and time.monotonic() < deadline:  # bounded by the deadline
            time.sleep(0.05)
        self.runner.shutdown(wait=False)  # refuses new validations, cancels queued ones
        if self.sampler is not None:
            self.sampler.stop()
        left, released = set(self.runner.in_flight), []
        if left:
            try:
                released = drain.release_challenges(self.env, left)
            except db.DatabaseError as exc:
                log.warning("shutdown: %d challenges stay processing (database: %s); the challenge"
                            " worker re-queues them once stale", len(left), type(exc).__name__)
        self.pool.close(timeout=1.0)
        log.info("shutdown complete", extra={"released_challenges": len(released)})
        return released

    def close(self) -> None:
        self.shutdown()


def create_app(settings: Any, *, pool: ConnectionPool | None = None, start_workers: bool = True) -> Flask:
    """Build the WSGI application for `settings` (no work happens at import time)."""
    logs.configure_audit(settings.logging.audit.enabled, settings.logging.audit.file)
    if settings.dev.enabled:
        log.warning("DEVELOPMENT MODE: not for production use")
    if settings.challenges.auto_accept:
        log.warning("challenges.auto_accept is ON: challenges are accepted without validation")
    if not settings.caa.enabled:
        log.warning("caa.enabled is false: CAA records (RFC 8659) are not checked before issuance")
    if pool is None:
        pool = db.open_pool(settings.database)
    if settings.database.auto_setup:
        with pool.connection() as conn:
            applied = migrate.migrate(conn)
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
    cfg = settings.challenges
    # The heartbeat renews what this process holds well before the challenge worker of any
    # instance would call it stale.
    runner = ValidationRunner(cfg.validation_threads, capacity=cfg.validation_queue_size,
                              heartbeat_seconds=cfg.background_worker.stale_seconds / 3)
    crl_url, ocsp_url = pki.status_urls(settings)  # CRL DP and AIA OCSP of issued certificates
    with pool.connection() as conn:
        nonce_key = nonces.load_key(conn)
    urls = Urls.from_settings(settings)
    env = Env(
        nonce_key=nonce_key,
        settings=settings,
        pool=pool,
        ca=load_backend(settings.ca, crl_url=crl_url, ocsp_url=ocsp_url),
        validator=NetworkValidator(settings.challenges),
        dispatch=runner.submit,
        account_url=urls.account,  # CAA accounturi (RFC 8657)
    )
    runner.bind(lambda challenge_id: challenges.validate(env, challenge_id),
                lambda challenge_ids: challenges.keep_alive(env, challenge_ids))
    runtime = Runtime(env=env, pool=pool, runner=runner,
                      started_at=float(os.environ.get(STARTED_AT_ENV) or time.time()))
    if start_workers:  # background loops; advisory locks pick one leader per loop among instances
        runtime.supervisor = Supervisor(env, conninfo=db.conninfo(settings.database)).start()
        runtime.sampler = PoolSampler(pool).start()
    atexit.register(runtime.close)

    app = Flask("acmeeh")
    app.config["MAX_CONTENT_LENGTH"] = settings.server.max_body_bytes
    # No implicit OPTIONS route: a 405 then names exactly the methods a resource takes
    # (Allow: POST on the POST-only ACME resources).
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["acmeeh"] = WebContext(env=env, urls=urls)
    app.extensions["acmeeh.runtime"] = runtime
    errors.install(app, retry_after=settings.server.unavailable_retry_after_seconds)
    observe.install(app, access_log=settings.logging.access_log.enabled)  # request id, metrics, access log
    health.install(app, env, runtime)  # /livez /healthz /readyz
    metrics_view.install(app, settings, started=runtime.started_at,  # metrics.path
                         refresh=lambda: gauges.refresh(env))
    metrics.CONFIG.labels(version=__version__, external_url=settings.server.external_url,
                          challenges=",".join(settings.challenges.enabled)).set(1)
    app.register_blueprint(acme, url_prefix=settings.acme.path_prefix or None)
    app.register_blueprint(pki.blueprint(env))  # CRL and OCSP at crl.path / ocsp.path
    if settings.admin_api.enabled:  # admin REST API at admin_api.base_path
        install_admin_api(app, env)
        if settings.dashboard.enabled:  # the dashboard at dashboard.path, on the same users
            install_dashboard(app, settings.dashboard.path,
                              {spec.name: spec.lock_id for spec in LOOPS})
    runtime.started = True
    # Chunked bodies counted as they are read; refused bodies drained so the client sees 413.
    app.wsgi_app = BodyLimit(app.wsgi_app, settings.server.max_body_bytes)  # type: ignore[method-assign]
    if settings.proxy.enabled:  # client addresses for rate limits and logs
        app.wsgi_app = ProxyFix(app.wsgi_app, settings.proxy.trusted_proxies)  # type: ignore[method-assign]
    return app
