"""No database connection within database.acquire_timeout_seconds (here: a pool of one, held by
the test, as an exhausted pool would be): every endpoint that needs the database answers 503
with Retry-After and a problem document, never 500, and acmeeh_database_unavailable_total
counts it; what needs no database still answers. In-process (create_app on a real database);
the gunicorn test of a real PostgreSQL restart is test_ops_outage.py."""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from flask import Flask
from prometheus_client import REGISTRY
from support.acme_client import flattened_jws, public_jwk
from support.ocsp import request_for_serial

from acmeeh.authority import nonces

ACQUIRE = 0.2
RETRY_AFTER = 7
EXTERNAL = "http://127.0.0.1:1"


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app({
        "server": {"unavailable_retry_after_seconds": RETRY_AFTER},
        "database": {"min_connections": 1, "max_connections": 1, "acquire_timeout_seconds": ACQUIRE},
        "admin_api": {"enabled": True, "token_secret": "s" * 32},
    })


@pytest.fixture
def exhausted(app: Flask) -> Iterator[None]:
    """The pool's only connection is busy for the whole test."""
    with app.web.env.pool.connection():
        yield


def new_account_jws(app: Flask) -> str:
    """A well-formed newAccount request: it needs the database to redeem its nonce."""
    key = ec.generate_private_key(ec.SECP256R1())
    url = f"{EXTERNAL}/acme/new-account"
    protected = {"alg": "ES256", "jwk": public_jwk(key), "url": url,
                 "nonce": nonces.new_nonce(app.web.env)}
    return json.dumps(flattened_jws(key, "ES256", protected, b'{"termsOfServiceAgreed": true}'))


def unavailable_count() -> float:
    return REGISTRY.get_sample_value("acmeeh_database_unavailable_total",
                                     {"reason": "pool_timeout"}) or 0.0


def ocsp_request(dev_ca) -> bytes:
    """An OCSP request (RFC 6960) for an unknown serial of the app's CA."""
    issuer = x509.load_pem_x509_certificate(dev_ca.certificate.read_bytes())
    return request_for_serial(issuer, x509.random_serial_number())


@pytest.mark.usefixtures("exhausted")
def test_ocsp_answers_try_later(app: Flask, dev_ca) -> None:
    """OCSP has its own answer for this (RFC 6960 §2.3): tryLater, not internalError."""
    resp = app.test_client().post("/ocsp", data=ocsp_request(dev_ca),
                                  headers={"Content-Type": "application/ocsp-request"})
    assert resp.status_code == 200
    answer = ocsp.load_der_ocsp_response(resp.get_data())
    assert answer.response_status == ocsp.OCSPResponseStatus.TRY_LATER


REQUESTS = {
    "newAccount": lambda app: ("POST", "/acme/new-account", new_account_jws(app),
                               "application/jose+json"),
    "admin login": lambda app: ("POST", "/api/auth/login",
                                json.dumps({"username": "admin", "password": "x" * 12}),
                                "application/json"),
    "crl": lambda app: ("GET", "/crl", None, None),
}


@pytest.mark.usefixtures("exhausted")
@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_503_with_retry_after_when_no_connection_comes(app: Flask, name: str) -> None:
    method, path, body, content_type = REQUESTS[name](app)
    before = unavailable_count()
    started = time.monotonic()
    resp = app.test_client().open(path, method=method, data=body,
                                  headers={"Content-Type": content_type} if content_type else {})
    took = time.monotonic() - started
    assert resp.status_code == 503, resp.get_data(as_text=True)
    assert resp.headers["Retry-After"] == str(RETRY_AFTER)
    assert resp.content_type == "application/problem+json"
    problem = resp.get_json()
    assert problem["type"] == "urn:ietf:params:acme:error:serverInternal"
    assert problem["status"] == 503 and "temporarily unavailable" in problem["detail"]
    assert "Traceback" not in resp.get_data(as_text=True)
    assert unavailable_count() == before + 1
    assert took < ACQUIRE + 1.0  # bounded by acquire_timeout_seconds, not a hang


@pytest.mark.usefixtures("exhausted")
@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/acme/directory", 200),
    ("HEAD", "/acme/new-nonce", 200),
    ("GET", "/livez", 200),
    ("GET", "/readyz", 503),  # not ready while no connection can be had
])
def test_what_needs_no_database_still_answers(app: Flask, method: str, path: str,
                                              status: int) -> None:
    resp = app.test_client().open(path, method=method)
    assert resp.status_code == status
    if path == "/readyz":
        assert resp.get_json() == {"ready": False, "reason": "database unavailable"}
    if path == "/acme/new-nonce":
        assert resp.headers["Replay-Nonce"]
