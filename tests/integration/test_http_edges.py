"""HTTP edges that need the running server (gunicorn, a socket, real PostgreSQL): a body
over server.max_body_bytes is answered 413, chunked or not, to a client that is still sending
(RFC 9112 §7.1), with a usable Replay-Nonce (RFC 8555 §6.5); health probes reuse the CA check.
The edges a test client can reach (405 and Allow, a nonce on every answer to a POST) are
tests/integration/web/test_web_http_edges.py, in process.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from support import rawhttp
from support.acme_client import ERROR_PREFIX, JOSE_JSON, PROBLEM_JSON, AcmeClient, expect


@dataclass
class Edge:
    server: object
    alice: AcmeClient
    max_body: int

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
