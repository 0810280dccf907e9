"""Probes at the server root (outside the ACME prefix), shapes as in the deployment guide.

- GET /livez: the process serves HTTP; no backend is touched.
- GET /healthz: every subsystem. 503 only when the database, the CA backend or (when enabled)
  the CRL is unhealthy; smtp and dns_resolver are reported, never fatal, and cached briefly so
  a probe stays fast when they hang. The CA check signs with the CA key, so its result is
  reused for CA_CACHE_SECONDS: a flood of probes cannot make the CA key sign at their rate.
- GET /readyz: 503 with a reason before start-up completes, while shutting down, or when the
  database does not answer within a short timeout.
"""
from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from flask import Blueprint, Flask, Response

import acmeeh

from ..authority import crl
from ..authority.env import Env
from ..protocol.status import ChallengeType
from ..store import db

log = logging.getLogger("acmeeh.web.health")

# A probe must answer within a typical orchestrator timeout (Kubernetes: 1 s by default).
DATABASE_TIMEOUT_SECONDS = 1.0
AUX_TIMEOUT_SECONDS = 0.5
AUX_CACHE_SECONDS = 30.0
CA_CACHE_SECONDS = 5.0


class Loops(Protocol):
    """What the probes read from the background loops (workers.supervisor.Supervisor)."""

    def status(self) -> dict[str, bool]: ...

    def leaders(self) -> dict[str, bool]: ...


class Lifecycle(Protocol):
    """What the probes read from the process runtime (acmeeh.app.Runtime)."""

    started: bool
    shutting_down: bool

    @property
    def supervisor(self) -> Loops | None: ...


def _respond(body: dict[str, Any], status: int = 200) -> Response:
    resp = Response(json.dumps(body, default=str), status=status, content_type="application/json")
    resp.headers["Cache-Control"] = "no-store"
    return resp


def database_ok(env: Env) -> bool:
    """One round trip on a pooled connection, waiting at most DATABASE_TIMEOUT_SECONDS for it."""
    timeout = min(DATABASE_TIMEOUT_SECONDS, float(env.settings.database.connect_timeout))
    try:
        with env.pool.connection(timeout=timeout) as conn:
            db.ping(conn)
    except db.DatabaseError as exc:
        log.warning("health: database unavailable: %s", type(exc).__name__)
        return False
    return True


def database_check(env: Env) -> dict[str, Any]:
    ok = database_ok(env)
    return {"status": "ok" if ok else "error", "pool": db.pool_stats(env.pool)}


def ca_check(env: Env) -> dict[str, Any]:
    """One signature with the CA key; `checked_at` says when (the result is reused). The
    backend's own report (its name; an HSM's sessions, an upstream's reachability) follows."""
    checked_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    try:
        env.ca.check()
    except Exception as exc:  # noqa: BLE001 - any failure is "error"; the detail goes to the log
        log.warning("health: CA backend check failed: %s", exc)
        return {"status": "error", "checked_at": checked_at, **_backend_report(env)}
    return {"status": "ok", "checked_at": checked_at, **_backend_report(env)}


def _backend_report(env: Env) -> dict[str, object]:
    try:
        report = dict(env.ca.health())
    except Exception as exc:  # noqa: BLE001 - a report that fails is left out, never fatal
        log.warning("health: CA backend report failed: %s", exc)
        return {}
    report.pop("status", None)  # the check decides the status
    report.pop("checked_at", None)
    return report


def crl_check(env: Env) -> tuple[dict[str, Any], bool]:
    """(report, healthy): unhealthy only when the CRL is enabled and stale or unreadable."""
    if not env.settings.crl.enabled:
        return {"status": "disabled", "stale": False}, True
    try:
        report = crl.status(env)
    except Exception as exc:  # noqa: BLE001
        log.warning("health: CRL status unavailable: %s", type(exc).__name__)
        return {"status": "error", "stale": None}, False
    return report, not report.get("stale", False)


def smtp_check(env: Env) -> dict[str, Any]:
    cfg = env.settings.smtp
    if not cfg.enabled:
        return {"status": "disabled"}
    try:
        socket.create_connection((cfg.host, cfg.port), timeout=AUX_TIMEOUT_SECONDS).close()
    except OSError:
        return {"status": "error"}
    return {"status": "ok"}


def dns_check(env: Env) -> dict[str, Any]:
    if ChallengeType.DNS_01 not in env.settings.challenges.enabled:
        return {"status": "disabled"}
    return {"status": "ok" if env.validator.resolvers_answer(AUX_TIMEOUT_SECONDS) else "error"}


class _Cached:
    """Results of a slow or costly check, reused for `ttl` seconds. One thread at a time runs
    the check; the others meanwhile get the previous result (or wait for the first one)."""

    def __init__(self, check: Callable[[], dict[str, Any]], ttl: float) -> None:
        self._check, self._ttl = check, ttl
        self._value: dict[str, Any] | None = None
        self._at = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> dict[str, Any]:
        value = self._value
        if value is not None and time.monotonic() - self._at < self._ttl:
            return value
        if not self._lock.acquire(blocking=value is None):
            return value  # type: ignore[return-value]  # another thread is refreshing it
        try:
            if self._value is None or time.monotonic() - self._at >= self._ttl:
                self._value, self._at = self._check(), time.monotonic()
            return self._value
        finally:
            self._lock.release()


def health_report(env: Env, runtime: Lifecycle, smtp: Callable[[], dict], dns: Callable[[], dict],
                  ca: Callable[[], dict] | None = None) -> tuple[dict[str, Any], int]:
    """The /healthz body and status code; `ca` is the (cached) CA check, else run now."""
    database = database_check(env)
    ca_report = ca() if ca is not None else ca_check(env)
    crl_report, crl_ok = crl_check(env)
    supervisor = runtime.supervisor
    checks: dict[str, Any] = {
        "database": database,
        "ca_backend": ca_report,
        "crl": crl_report,
        "workers": supervisor.status() if supervisor is not None else {},
        "leaders": supervisor.leaders() if supervisor is not None else {},
        "smtp": smtp(),
        "dns_resolver": dns(),
    }
    critical = database["status"] == "ok" and ca_report["status"] == "ok" and crl_ok
    degraded = any(checks[k]["status"] == "error" for k in ("smtp", "dns_resolver"))
    status = "error" if not critical else ("degraded" if degraded else "ok")
    body = {"status": status, "checks": checks, "shutting_down": runtime.shutting_down}
    return body, 200 if critical else 503


def readiness(env: Env, runtime: Lifecycle) -> tuple[dict[str, Any], int]:
    if not runtime.started:
        return {"ready": False, "reason": "starting"}, 503
    if runtime.shutting_down:
        return {"ready": False, "reason": "shutting down"}, 503
    if not database_ok(env):
        return {"ready": False, "reason": "database unavailable"}, 503
    return {"ready": True}, 200


def install(app: Flask, env: Env, runtime: Lifecycle) -> None:
    """Serve /livez, /healthz and /readyz at the root of `app`."""
    bp = Blueprint("health", __name__)
    smtp = _Cached(lambda: smtp_check(env), AUX_CACHE_SECONDS)
    dns = _Cached(lambda: dns_check(env), AUX_CACHE_SECONDS)
    ca = _Cached(lambda: ca_check(env), CA_CACHE_SECONDS)

    @bp.get("/livez")
    def livez() -> Response:
        return _respond({"alive": True, "version": acmeeh.__version__})

    @bp.get("/healthz")
    def healthz() -> Response:
        return _respond(*health_report(env, runtime, smtp, dns, ca))

    @bp.get("/readyz")
    def readyz() -> Response:
        return _respond(*readiness(env, runtime))

    app.register_blueprint(bp)
