"""HTTP edges of the ACME API, served in process by an app built by create_app (real
PostgreSQL): every 405 names the methods a resource takes (RFC 9110 §15.5.6), and every answer
to a POST under the ACME prefix carries a usable Replay-Nonce whatever failed (RFC 8555 §6.5).
What needs a socket (chunked bodies, a client still sending) is tests/integration/
test_http_edges.py, against gunicorn.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import requests

from support.acme_client import (ERROR_PREFIX, JOSE_JSON, PROBLEM_JSON, AcmeClient, expect,
                                 problem_type)
from support.wsgi import BASE_URL


@dataclass
class Edge:
    alice: AcmeClient
    max_body: int

    @property
    def acme(self) -> str:  # e.g. http://127.0.0.1:PORT/acme
        return self.alice.url("newNonce").rsplit("/", 1)[0]

    @property
    def root(self) -> str:
        return BASE_URL

    def nonce_works(self, nonce: str) -> None:
        """The nonce an answer carried is accepted by the next request (RFC 8555 §6.5)."""
        expect(self.alice.post(self.alice.kid, nonce=nonce), 200)


@pytest.fixture(scope="module")
def edge(web_app, client_for) -> Iterator[Edge]:
    alice = client_for()
    expect(alice.new_account(), 201)
    yield Edge(alice, web_app.runtime.env.settings.server.max_body_bytes)


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
    pytest.param(wrong_type, 415, "malformed", id="415-content-type"),
]


@pytest.mark.parametrize(("make", "status", "problem"), POST_ANSWERS)
def test_every_answer_to_a_post_carries_a_usable_nonce(edge: Edge, make, status: int,
                                                       problem: str | None) -> None:
    response = make(edge)
    assert response.status_code == status, response.text
    if problem is not None:
        assert response.headers["Content-Type"].startswith(PROBLEM_JSON)
        assert response.json()["type"] == ERROR_PREFIX + problem
    edge.nonce_works(response.headers["Replay-Nonce"])
