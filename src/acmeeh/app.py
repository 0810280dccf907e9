"""create_app(settings): the one place that wires pool, CA, validator, env and blueprints."""
from __future__ import annotations

import atexit
import logging
from dataclasses import dataclass
from typing import Any

from flask import Flask
from .store.db import Pool as ConnectionPool

from .admin.api import install as install_admin_api
from .authority import challenges
from .authority.env import Env
from .issuance import load_backend
from .store import db, migrate
from .validation import Validator
from .web import errors
from .web.blueprint import acme
from .web.context import WebContext
from .web.urls import Urls
from .workers.supervisor import Supervisor
from .workers.validation import ValidationRunner

# The handler modules register their routes on the blueprint when imported.
from .web import accounts, authz, certs, directory, orders, pki  # noqa: F401,E402  isort: skip

log = logging.getLogger("acmeeh")


@dataclass
class Runtime:
    """What create_app built and what shutdown must close."""

    env: Env
    pool: ConnectionPool
    runner: ValidationRunner
    supervisor: Supervisor | None = None

    def close(self) -> None:
        if self.supervisor is not None:  # first: its ticks use the runner and the pool
            self.supervisor.stop(timeout=10)
        self.runner.shutdown(wait=True)
        self.pool.close()


def create_app(settings: Any, *, pool: ConnectionPool | None = None, start_workers: bool = True) -> Flask:
    """Build the WSGI application for `settings` (no work happens at import time)."""
    if settings.dev.enabled:
        log.warning("DEVELOPMENT MODE: not for production use")
    if settings.challenges.auto_accept:
        log.warning("challenges.auto_accept is ON: challenges are accepted without validation")
    if pool is None:
        pool = db.open_pool(settings.database)
    if settings.database.auto_setup:
        with pool.connection() as conn:
            applied = migrate.migrate(conn)
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
    runner = ValidationRunner(settings.challenges.validation_threads)
    crl_url, ocsp_url = pki.status_urls(settings)  # CRL DP and AIA OCSP of issued certificates
    env = Env(
        settings=settings,
        pool=pool,
        ca=load_backend(settings.ca, crl_url=crl_url, ocsp_url=ocsp_url),
        validator=Validator(settings.challenges),
        dispatch=runner.submit,
    )
    runner.bind(lambda challenge_id: challenges.validate(env, challenge_id))
    runtime = Runtime(env=env, pool=pool, runner=runner)
    if start_workers:  # background loops; advisory locks pick one leader per loop among instances
        runtime.supervisor = Supervisor(env, conninfo=db.conninfo(settings.database)).start()
    atexit.register(runtime.close)

    app = Flask("acmeeh")
    app.config["MAX_CONTENT_LENGTH"] = settings.server.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["acmeeh"] = WebContext(env=env, urls=Urls.from_settings(settings))
    app.extensions["acmeeh.runtime"] = runtime
    errors.install(app)
    app.register_blueprint(acme, url_prefix=settings.acme.path_prefix or None)
    app.register_blueprint(pki.blueprint(env))  # CRL and OCSP at crl.path / ocsp.path
    if settings.admin_api.enabled:  # admin REST API at admin_api.base_path
        install_admin_api(app, env)
    return app
