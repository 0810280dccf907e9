"""Races against a running server: many finalize calls on one order, many responds on one
challenge, many newAccount with one key, key roll-overs to one key. Each state change is a
compare-and-set or guarded by a unique key, so exactly one caller wins (RFC 8555 §7.4: finalize
on a non-ready order is orderNotReady; §7.3.1: one account per key; §7.3.5: a key that belongs
to an account is 409) and nothing answers 5xx.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
import requests

from cryptography.hazmat.primitives.asymmetric import ec
from support.acme_client import (ERROR_PREFIX, AcmeClient, Http01Responder, b64, default_alg,
                                 expect, flattened_jws, make_csr, problem_type, public_jwk)

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


def test_parallel_new_account_with_one_key(acme_server) -> None:
    """RFC 8555 §7.3.1: one key, one account. Racing creations with the same key: one 201,
    every other request 200 with the same account, never a 5xx."""
    client = AcmeClient(acme_server.directory_url)
    url = client.url("newAccount")
    clients = [client.clone() for _ in range(THREADS)]
    nonces = [client.new_nonce() for _ in range(THREADS)]
    offset = log_size(acme_server)
    responses = all_at_once(THREADS, lambda i: clients[i].post(
        url, {"termsOfServiceAgreed": True}, use_jwk=True, nonce=nonces[i]))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * (THREADS - 1) + [201], [r.text for r in responses]
    assert len({r.headers["Location"] for r in responses}) == 1
    assert_no_traceback_since(acme_server, offset)


def key_change_request(client: AcmeClient, new_key, nonce: str) -> Callable[[], requests.Response]:
    """A keyChange (§7.3.5) of `client`'s account to `new_key`, ready to send with `nonce`."""
    url = client.url("keyChange")
    alg = default_alg(new_key)
    inner = flattened_jws(new_key, alg, {"alg": alg, "jwk": public_jwk(new_key), "url": url},
                          json.dumps({"account": client.kid, "oldKey": public_jwk(client.key)}).encode())
    return lambda: client.post(url, inner, nonce=nonce)


def test_parallel_key_change_to_one_key(acme_server) -> None:
    """Accounts racing to roll over to the same new key: one 200, every other 409 (the key
    belongs to an account now) naming that account, never a 5xx."""
    new_key = ec.generate_private_key(ec.SECP256R1())
    clients = [AcmeClient(acme_server.directory_url) for _ in range(8)]
    for c in clients:
        expect(c.new_account(), 201)
    calls = [key_change_request(c, new_key, c.new_nonce()) for c in clients]
    offset = log_size(acme_server)
    responses = all_at_once(len(calls), lambda i: calls[i]())
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * (len(calls) - 1), [r.text for r in responses]
    winner = clients[next(i for i, r in enumerate(responses) if r.status_code == 200)]
    for response in responses:
        if response.status_code == 409:
            assert problem_type(response) == ERROR_PREFIX + "malformed"
            assert response.headers["Location"] == winner.kid
    assert_no_traceback_since(acme_server, offset)


@pytest.mark.parametrize("round_", range(4))
def test_key_change_racing_new_account_with_that_key(acme_server, round_: int) -> None:
    """newAccount with key K while an account rolls over to K: either the roll-over wins (200)
    and newAccount finds that account (200), or newAccount wins (201) and the roll-over gets
    409. Never a 5xx, never two accounts with one key."""
    new_key = ec.generate_private_key(ec.SECP256R1())
    old = AcmeClient(acme_server.directory_url)
    expect(old.new_account(), 201)
    fresh = AcmeClient(acme_server.directory_url, new_key)
    calls = [key_change_request(old, new_key, old.new_nonce()),
             lambda nonce=fresh.new_nonce(): fresh.post(
                 fresh.url("newAccount"), {"termsOfServiceAgreed": True}, use_jwk=True, nonce=nonce)]
    offset = log_size(acme_server)
    changed, created = all_at_once(2, lambda i: calls[i]())
    outcome = (changed.status_code, created.status_code)
    assert outcome in ((200, 200), (409, 201)), (changed.text, created.text)
    if outcome == (200, 200):
        assert created.headers["Location"] == old.kid
    else:
        assert changed.headers["Location"] == created.headers["Location"]
    assert_no_traceback_since(acme_server, offset)
