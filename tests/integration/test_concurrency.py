"""Races against a running server: many finalize calls on one order, many responds on one
challenge. Each state change is a compare-and-set, so exactly one caller wins (RFC 8555 §7.4:
finalize on a non-ready order is orderNotReady) and nothing answers 5xx.
"""
from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
import requests

from support.acme_client import (ERROR_PREFIX, AcmeClient, Http01Responder, b64, expect,
                                 make_csr, problem_type)

THREADS = 16
JOIN_SECONDS = 60


@pytest.fixture(scope="module")
def responder(acme_server) -> Iterator[Http01Responder]:
    with Http01Responder(acme_server.http01_port) as http01:
        yield http01


def name(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}.localhost"


def all_at_once(count: int, call: Callable[[int], requests.Response]) -> list[requests.Response]:
    """Run call(0..count-1) on `count` threads released together; bounded by JOIN_SECONDS."""
    barrier = threading.Barrier(count, timeout=JOIN_SECONDS)
    results: list[requests.Response | BaseException | None] = [None] * count

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = call(i)
        except BaseException as exc:  # reported below, never lost in the thread
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + JOIN_SECONDS
    for thread in threads:
        thread.join(timeout=max(0.1, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "requests still running after the deadline"
    errors = [r for r in results if not isinstance(r, requests.Response)]
    assert not errors, errors
    return results  # type: ignore[return-value]


def log_size(server) -> int:
    return server.log_path.stat().st_size if server.log_path.exists() else 0


def assert_no_traceback_since(server, offset: int) -> None:
    with open(server.log_path, "rb") as log:
        log.seek(offset)
        text = log.read().decode(errors="replace")
    assert "Traceback" not in text, text[-4000:]


def test_parallel_finalize(acme_server, responder: Http01Responder) -> None:
    client = AcmeClient(acme_server.directory_url)
    expect(client.new_account(), 201)
    names = [name("race"), "127.0.0.1"]
    created = expect(client.new_order(names), 201)
    order_url = created.headers["Location"]
    client.complete_authorizations(created.json(), http01=responder)
    order = expect(client.poll(order_url, {"ready"}), 200).json()
    assert order["status"] == "ready"

    csr, _ = make_csr(names)
    payload = {"csr": b64(csr)}
    clients = [client.clone() for _ in range(THREADS)]
    nonces = [client.new_nonce() for _ in range(THREADS)]
    offset = log_size(acme_server)
    responses = all_at_once(
        THREADS, lambda i: clients[i].post(order["finalize"], payload, nonce=nonces[i]))

    statuses = sorted(r.status_code for r in responses)
    assert all(s < 500 for s in statuses), [r.text for r in responses]
    winners = [r for r in responses if r.status_code == 200]
    losers = [r for r in responses if r.status_code != 200]
    assert len(winners) == 1, statuses
    assert all((r.status_code, problem_type(r)) == (403, ERROR_PREFIX + "orderNotReady")
               for r in losers), [(r.status_code, r.text) for r in losers]
    assert winners[0].json()["status"] in ("processing", "valid")

    final = expect(client.poll(order_url, {"valid"}), 200).json()
    assert final["status"] == "valid" and final["certificate"]
    expect(client.download(final["certificate"]), 200)
    account_id = client.kid.rsplit("/", 1)[1]
    with psycopg.connect(acme_server.database_url) as conn:  # one certificate, not sixteen
        (count,) = conn.execute("SELECT count(*) FROM certificates WHERE account_id = %s",
                                (account_id,)).fetchone()
    assert count == 1
    assert_no_traceback_since(acme_server, offset)


def test_parallel_respond(acme_server, responder: Http01Responder) -> None:
    client = AcmeClient(acme_server.directory_url)
    expect(client.new_account(), 201)
    created = expect(client.new_order([name("respond")]), 201)
    authz_url = created.json()["authorizations"][0]
    authz = expect(client.get_authz(authz_url), 200).json()
    challenge = next(c for c in authz["challenges"] if c["type"] == "http-01")
    token = challenge["token"]
    responder.add(token, client.key_authorization(token))

    count = 8
    clients = [client.clone() for _ in range(count)]
    nonces = [client.new_nonce() for _ in range(count)]
    offset = log_size(acme_server)
    responses = all_at_once(count, lambda i: clients[i].post(challenge["url"], {},
                                                             nonce=nonces[i]))
    assert all(r.status_code < 500 for r in responses), [r.text for r in responses]
    assert any(r.status_code == 200 for r in responses), [r.text for r in responses]

    final = expect(client.poll(authz_url, {"valid"}), 200).json()
    assert final["status"] == "valid", final
    time.sleep(1.0)  # a second (wrong) validation would arrive within this
    assert responder.hits.get(token) == 1, responder.hits.get(token)
    assert_no_traceback_since(acme_server, offset)
