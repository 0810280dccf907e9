"""In-process (create_app on a real database): probe shapes and status codes, readiness
reasons, request ids, the metrics endpoint and its bearer token, HTTP metric labels, and the
shutdown drain of challenges still being validated."""
from __future__ import annotations

import dataclasses
import io
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from flask import Flask
from opstools import samples, total
from prometheus_client import REGISTRY

from acmeeh.config import ConfigError
from acmeeh.issuance import load_backend
from acmeeh.logs import configure_logging
from acmeeh.web import health
from acmeeh.workers.validation import ValidationRunner

HEX_ID = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


# --- shapes (deployment guide, "Health Check Endpoints") ------------------------------------
def test_livez(app: Flask) -> None:
    resp = app.test_client().get("/livez")
    assert resp.status_code == 200 and resp.json["alive"] is True
    assert re.match(r"^\d+\.\d+", resp.json["version"])
    assert resp.headers["Cache-Control"] == "no-store"


def test_healthz_shape(app: Flask) -> None:
    resp = app.test_client().get("/healthz")
    body = resp.json
    assert resp.status_code == 200, body
    assert body["status"] in ("ok", "degraded") and body["shutting_down"] is False
    checks = body["checks"]
    assert set(checks) >= {"database", "ca_backend", "crl", "workers", "smtp", "dns_resolver"}
    assert checks["database"]["status"] == "ok"
    assert set(checks["database"]["pool"]) == {"size", "available", "waiting"}
    assert checks["ca_backend"]["status"] == "ok" and checks["ca_backend"]["checked_at"]
    assert checks["crl"]["stale"] is False and checks["crl"]["status"] in ("ok", "missing")
    assert checks["workers"] == {}  # runtime not started: no loops in this process
    assert checks["smtp"] == {"status": "disabled"}
    assert checks["dns_resolver"]["status"] in ("ok", "error")  # reported, never fatal


@pytest.mark.parametrize(("started", "stopping", "status", "body"), [
    (True, False, 200, {"ready": True}),
    (False, False, 503, {"ready": False, "reason": "starting"}),
    (True, True, 503, {"ready": False, "reason": "shutting down"}),
])
def test_readyz(app: Flask, started: bool, stopping: bool, status: int, body: dict) -> None:
    runtime = app.runtime
    runtime.started, runtime.shutting_down = started, stopping
    resp = app.test_client().get("/readyz")
    assert (resp.status_code, resp.json) == (status, body)


def test_healthz_reports_shutting_down(app: Flask) -> None:
    app.runtime.begin_shutdown()
    assert app.test_client().get("/healthz").json["shutting_down"] is True


# --- 503 triggers: CA backend and stale CRL (clock moved, nothing faked) ----------------------
@pytest.mark.parametrize(("years", "crl_enabled", "code", "ca", "crl"), [
    (0, True, 200, "ok", False),
    (30, True, 503, "error", True),  # CA certificate expired and CRL past nextUpdate
    (30, False, 503, "error", False),  # CA alone is enough; a disabled CRL is never stale
])
def test_healthz_503_triggers(app: Flask, years: int, crl_enabled: bool, code: int, ca: str,
                              crl: bool) -> None:
    env = app.web.env
    app.test_client().get("/crl")  # make sure a CRL exists
    now = [datetime.now(UTC)]  # the backend loads at today's date, then time moves on
    settings = dataclasses.replace(
        env.settings, crl=dataclasses.replace(env.settings.crl, enabled=crl_enabled))
    moved = dataclasses.replace(env, settings=settings, clock=lambda: now[0],
                                ca=load_backend(settings.ca, clock=lambda: now[0]))
    now[0] += timedelta(days=365 * years)
    ok = lambda: {"status": "ok"}
    body, status = health.health_report(moved, app.runtime, ok, ok)
    assert status == code, body
    assert body["checks"]["ca_backend"]["status"] == ca
    assert body["checks"]["crl"]["stale"] is crl
    assert body["status"] == ("ok" if code == 200 else "error")


# --- request ids --------------------------------------------------------------------------
@pytest.mark.parametrize(("sent", "kept"), [
    (None, False),
    ("abc-123_X.y:z", True),
    ("a" * 128, True),
    ("a" * 129, False),  # too long
    ("has space", False),
    ("line\nbreak", False),  # would forge log lines
    ("", False),
])
def test_request_id_echoed_or_generated(app: Flask, sent: str | None, kept: bool) -> None:
    headers = {"X-Request-ID": sent} if sent is not None else {}
    try:
        resp = app.test_client().get("/livez", headers=headers)
    except ValueError:  # werkzeug refuses a header with a newline before we see it
        assert not kept
        return
    rid = resp.headers["X-Request-ID"]
    assert rid == sent if kept else HEX_ID.match(rid)


@pytest.mark.usefixtures("restore_root")
def test_every_log_line_of_a_request_carries_its_id(app: Flask) -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", "json", stream=stream)
    log = logging.getLogger("acmeeh.test")

    def view() -> str:
        log.info("inside")
        log.warning("inside again", extra={"n": 2})
        return "ok"

    app.add_url_rule("/test-logging", "test_logging", view)
    resp = app.test_client().get("/test-logging", headers={"X-Request-ID": "req-77"})
    assert resp.status_code == 200 and resp.headers["X-Request-ID"] == "req-77"
    log.info("outside any request")
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    ours = {line["msg"]: line for line in lines if line["logger"] == "acmeeh.test"}
    assert ours["inside"]["request_id"] == ours["inside again"]["request_id"] == "req-77"
    assert ours["outside any request"]["request_id"] is None


# --- metrics endpoint -------------------------------------------------------------------------
@pytest.mark.parametrize(("overrides", "path", "headers", "status"), [
    ({}, "/metrics", {}, 200),
    ({"metrics": {"path": "/internal/prom"}}, "/internal/prom", {}, 200),
    ({"metrics": {"path": "/internal/prom"}}, "/metrics", {}, 404),
    ({"metrics": {"enabled": False}}, "/metrics", {}, 404),
    ({"metrics": {"auth_required": True, "token": "t0k3n"}}, "/metrics", {}, 401),
    ({"metrics": {"auth_required": True, "token": "t0k3n"}}, "/metrics",
     {"Authorization": "Bearer wrong"}, 401),
    ({"metrics": {"auth_required": True, "token": "t0k3n"}}, "/metrics",
     {"Authorization": "Basic dDBrM246"}, 401),
    ({"metrics": {"auth_required": True, "token": "t0k3n"}}, "/metrics",
     {"Authorization": "Bearer t0k3n"}, 200),
])
def test_metrics_endpoint(make_app: Callable[..., Flask], overrides: dict, path: str,
                          headers: dict, status: int) -> None:
    resp = make_app(overrides).test_client().get(path, headers=headers)
    assert resp.status_code == status, resp.data[:300]
    if status == 200:
        assert resp.mimetype == "text/plain"
        values = samples(resp.get_data(as_text=True))
        assert total(values, "acmeeh_config") >= 1 and total(values, "acmeeh_uptime_seconds") >= 0
        assert "acmeeh_certificates_issued_total" in values
    if status == 401:
        assert resp.headers["WWW-Authenticate"].startswith("Bearer ")


def test_auth_required_without_token_fails_at_start_up(make_app: Callable[..., Flask]) -> None:
    with pytest.raises(ConfigError, match="metrics.token"):
        make_app({"metrics": {"auth_required": True}})


def _count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize(("method", "path", "endpoint", "status", "problem"), [
    ("GET", "/acme/directory", "acme.directory", "200", None),
    ("GET", "/no/such/path/" + "x" * 50, "unmatched", "404", "malformed"),
    ("POST", "/acme/new-order", "acme.new_order", "415", "malformed"),
    ("HEAD", "/acme/new-nonce", "acme.new_nonce", "200", None),
])
def test_http_metrics_use_endpoint_names(app: Flask, method: str, path: str, endpoint: str,
                                         status: str, problem: str | None) -> None:
    labels = {"endpoint": endpoint, "method": method, "status": status}
    before = _count("acmeeh_http_requests_total", **labels)
    latency = _count("acmeeh_http_request_duration_seconds_count", endpoint=endpoint, method=method)
    problems = _count("acmeeh_problems_total", type=problem) if problem else 0.0
    resp = app.test_client().open(path, method=method)
    assert str(resp.status_code) == status
    assert _count("acmeeh_http_requests_total", **labels) == before + 1
    assert _count("acmeeh_http_request_duration_seconds_count", endpoint=endpoint,
                  method=method) == latency + 1
    if problem:
        assert _count("acmeeh_problems_total", type=problem) == problems + 1


# --- shutdown drain -------------------------------------------------------------------------
def _processing_challenge(db_url: str) -> uuid.UUID:
    """An account, a pending authorization and one challenge in processing (plain SQL)."""
    account, authz, challenge = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO accounts (id, jwk, thumbprint, status) VALUES (%s, %s, %s, 'valid')",
                     (account, json.dumps({"kty": "EC"}), account.hex))
        conn.execute("INSERT INTO authorizations (id, account_id, identifier_type, identifier_value,"
                     " status, expires) VALUES (%s, %s, 'dns', 'drain.example', 'pending',"
                     " now() + interval '1 day')", (authz, account))
        conn.execute("INSERT INTO challenges (id, authorization_id, type, token, status, attempts,"
                     " processing_since) VALUES (%s, %s, 'http-01', %s, 'processing', 1, now())",
                     (challenge, authz, uuid.uuid4().hex))
    return challenge


def _status(db_url: str, challenge: uuid.UUID) -> str:
    with psycopg.connect(db_url, autocommit=True) as conn:
        return conn.execute("SELECT status FROM challenges WHERE id = %s", (challenge,)).fetchone()[0]


@pytest.mark.parametrize(("hold", "released"), [(True, 1), (False, 0)])
def test_shutdown_puts_unfinished_validations_back_to_pending(
        app: Flask, ops_db: str, hold: bool, released: int) -> None:
    runtime = app.runtime
    challenge = _processing_challenge(ops_db)
    gate, entered = threading.Event(), threading.Event()

    def validate(env: object, challenge_id: uuid.UUID) -> None:  # outlives the timeout
        entered.set()
        gate.wait(5 if hold else 0)

    runtime.runner = ValidationRunner(1, capacity=1, heartbeat_seconds=60, validate=validate,
                                      keep_alive=lambda env, ids: None)
    runtime.start(loops=False)
    runtime.runner.submit(challenge)
    assert entered.wait(5)
    try:
        moved = runtime.shutdown(timeout=0.3)
    finally:
        gate.set()
    assert len(moved) == released
    assert _status(ops_db, challenge) == ("pending" if hold else "processing")
    assert runtime.shutting_down and runtime.shutdown(timeout=0) == []  # idempotent
    assert app.test_client().get("/readyz").json == {"ready": False, "reason": "shutting down"}
