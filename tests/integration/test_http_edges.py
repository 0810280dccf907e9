"""HTTP edges of the running server (gunicorn, real PostgreSQL): every 405 names the methods
a resource takes (RFC 9110 §15.5.6), every answer to a POST under the ACME prefix carries a
usable Replay-Nonce whatever failed (RFC 8555 §6.5), and a body over server.max_body_bytes is
answered 413, chunked or not, to a client that is still sending (RFC 9112 §7.1).
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import requests

from support import rawhttp
from support.acme_client import (ERROR_PREFIX, JOSE_JSON, PROBLEM_JSON, AcmeClient, expect,
                                 problem_type)


@dataclass
class Edge:
    server: object
    alice: AcmeClient
    max_body: int

    @property
    def acme(self) -> str:  # e.g. http://127.0.0.1:PORT/acme
        return self.alice.url("newNonce").rsplit("/", 1)[0]

    @property
    def root(self) -> str:
        return self.server.base_url

    def nonce_works(self, nonce: str) -> None:
        """The nonce an answer carried is accepted by the next request (RFC 8555 §6.5)."""
        expect(self.alice.post(self.alice.kid, nonce=nonce), 200)


@pytest.fixture(scope="module")
def edge(acme_server) -> Iterator[Edge]:
    alice = AcmeClient(acme_server.directory_url)
    expect(alice.new_account(), 201)
    max_body = acme_server.config.get("server", {}).get("max_body_bytes", 65536)
    yield Edge(acme_server, alice, max_body)


def some_id() -> str:
    return str(uuid.uuid4())


# --- 405 carries Allow --------------------------------------------------------------------
POST_ONLY = ["new-account", "new-order", "new-authz", "revoke-cert", "key-change",
             "account/{id}", "account/{id}/orders", "order/{id}", "order/{id}/finalize",
             "authz/{id}", "chall/{id}", "cert/{id}"]


@pytest.mark.parametrize("path", POST_ONLY)
def test_get_on_a_post_only_acme_resource_allows_post(edge: Edge, path: str) -> None:
    response = edge.alice.request("GET", f"{edge.acme}/{path.format(id=some_id())}")
    assert response.status_code == 405, response.text
    assert response.headers["Allow"] == "POST"
    assert problem_type(response) == ERROR_PREFIX + "malformed"
    assert response.headers.get("Replay-Nonce")


# (method, where: "acme" or "root", path, methods Allow must name)
OTHER_405 = [
    ("DELETE", "acme", "/directory", {"GET"}),
    ("PUT", "acme", "/new-nonce", {"GET", "HEAD"}),
    ("POST", "acme", "/new-nonce", {"GET", "HEAD"}),
    ("POST", "root", "/livez", {"GET", "HEAD"}),
    ("POST", "root", "/healthz", {"GET", "HEAD"}),
    ("POST", "root", "/readyz", {"GET", "HEAD"}),
    ("POST", "root", "/metrics", {"GET", "HEAD"}),
    ("POST", "root", "/crl", {"GET", "HEAD"}),
    ("GET", "root", "/ocsp", {"POST"}),
]


@pytest.mark.parametrize(("method", "where", "path", "allowed"), OTHER_405,
                         ids=[f"{m} {p}" for m, _, p, _ in OTHER_405])
def test_every_405_names_the_allowed_methods(edge: Edge, method: str, where: str, path: str,
                                             allowed: set[str]) -> None:
    base = edge.acme if where == "acme" else edge.root
    response = edge.alice.request(method, base + path)
    assert response.status_code == 405, response.text
    named = {m.strip() for m in response.headers["Allow"].split(",")}
    assert allowed <= named and method not in named, named
    assert response.headers["Content-Type"].startswith(PROBLEM_JSON)


# --- a Replay-Nonce on every answer to a POST ------------------------------------------------
def signed_to(path: Callable[[Edge], str]) -> Callable[[Edge], requests.Response]:
    """A well-signed POST-as-GET to a URL under the ACME prefix."""
    return lambda e: e.alice.post(path(e))


def too_large(e: Edge) -> requests.Response:
    return e.alice.request("POST", e.alice.kid, data=b"{" + b" " * (e.max_body + 1) + b"}",
                           headers={"Content-Type": JOSE_JSON})


def too_large_chunked(e: Edge) -> rawhttp.RawResponse:
    return rawhttp.request(e.alice.kid, headers={"Content-Type": JOSE_JSON,
                                                 "Transfer-Encoding": "chunked"},
                           body=rawhttp.chunks(e.max_body * 4))


def wrong_type(e: Edge) -> requests.Response:
    body = json.dumps(e.alice.sign_request(e.alice.kid)).encode()
    return e.alice.request("POST", e.alice.kid, data=body,
                           headers={"Content-Type": "application/json"})


# (make, status, problem)
POST_ANSWERS = [
    pytest.param(signed_to(lambda e: e.alice.kid), 200, None, id="200-account"),
    pytest.param(signed_to(lambda e: f"{e.acme}/order/{some_id()}"), 404, "malformed",
                 id="404-unknown-order-id"),
    pytest.param(signed_to(lambda e: f"{e.acme}/order/not-a-uuid"), 404, "malformed",
                 id="404-unparsable-order-id"),
    pytest.param(signed_to(lambda e: f"{e.acme}/authz/123"), 404, "malformed",
                 id="404-unparsable-authz-id"),
    pytest.param(signed_to(lambda e: f"{e.acme}/chall/{some_id()}x"), 404, "malformed",
                 id="404-unparsable-challenge-id"),
    pytest.param(signed_to(lambda e: f"{e.acme}/cert/%7Bx%7D"), 404, "malformed",
                 id="404-unparsable-cert-id"),
    pytest.param(signed_to(lambda e: f"{e.acme}/no-such-resource"), 404, "malformed",
                 id="404-unknown-resource"),
    pytest.param(signed_to(lambda e: e.alice.url("newNonce")), 405, "malformed",
                 id="405-post-to-new-nonce"),
    pytest.param(too_large, 413, "malformed", id="413-content-length"),
    pytest.param(too_large_chunked, 413, "malformed", id="413-chunked"),
    pytest.param(wrong_type, 415, "malformed", id="415-content-type"),
]


@pytest.mark.parametrize(("make", "status", "problem"), POST_ANSWERS)
def test_every_answer_to_a_post_carries_a_usable_nonce(edge: Edge, make, status: int,
                                                       problem: str | None) -> None:
    response = make(edge)
    code = getattr(response, "status_code", None) or response.status
    headers = {k.lower(): v for k, v in response.headers.items()}
    assert code == status, getattr(response, "text", response.body)
    if problem is not None:
        assert headers["content-type"].startswith(PROBLEM_JSON)
        assert response.json()["type"] == ERROR_PREFIX + problem
    edge.nonce_works(headers["replay-nonce"])


# --- body limits ---------------------------------------------------------------------------
CHUNKED = {"Content-Type": JOSE_JSON, "Transfer-Encoding": "chunked"}


@pytest.mark.parametrize("chunk_size", [1, 997, 8192, 65536])
def test_a_chunked_body_within_the_limit_is_read_whole(edge: Edge, chunk_size: int) -> None:
    """A signed request sent in chunks of any size is the same request."""
    jws = edge.alice.sign_request(edge.alice.kid, nonce=edge.alice.new_nonce())
    body = json.dumps(jws).encode()
    answer = rawhttp.request(edge.alice.kid, headers=CHUNKED,
                             body=rawhttp.framed(body, chunk_size))
    assert answer.status == 200, answer.body
    assert answer.json()["status"] == "valid"


@pytest.mark.parametrize("total", [
    pytest.param("limit+1", id="one-byte-over"),
    pytest.param(1 << 20, id="1MiB"),
    pytest.param(4 << 20, id="4MiB"),
])
def test_a_chunked_body_over_the_limit_gets_413_while_the_client_still_sends(
        edge: Edge, total) -> None:
    """The whole body is written before the client reads anything: the server reads and
    drops it and answers 413; no connection reset, and the client could send it all."""
    size = edge.max_body + 1 if total == "limit+1" else total
    answer = rawhttp.request(edge.alice.kid, headers=CHUNKED, body=rawhttp.chunks(size))
    assert answer.send_error is None, answer.send_error
    assert answer.sent >= size
    assert answer.status == 413, answer.body
    assert answer.headers["content-type"].startswith(PROBLEM_JSON)
    assert answer.json()["type"] == ERROR_PREFIX + "malformed"
    edge.nonce_works(answer.headers["replay-nonce"])


def test_a_long_body_with_content_length_gets_413_not_a_reset(edge: Edge) -> None:
    size = 1 << 20
    answer = rawhttp.request(edge.alice.kid, body=[b"A" * size],
                             headers={"Content-Type": JOSE_JSON, "Content-Length": str(size)})
    assert answer.send_error is None and answer.status == 413, answer.body
    assert answer.json()["type"] == ERROR_PREFIX + "malformed"


# --- no cheap amplifiers ---------------------------------------------------------------------
PROBES = 20


def test_healthz_reuses_the_ca_check(edge: Edge) -> None:
    """The CA check signs with the CA key; a burst of probes reuses its result (each gunicorn
    worker checks at most once per CA_CACHE_SECONDS, so a burst sees at most a few checks)."""
    session = requests.Session()
    session.trust_env = False
    checks = set()
    for _ in range(PROBES):
        response = session.get(f"{edge.root}/healthz", timeout=10)
        assert response.status_code == 200, response.text
        report = response.json()["checks"]["ca_backend"]
        assert report["status"] == "ok"
        checks.add(report["checked_at"])
    workers = edge.server.config["server"]["workers"]
    assert len(checks) <= 2 * workers, checks  # a cache expiry may fall inside the burst
