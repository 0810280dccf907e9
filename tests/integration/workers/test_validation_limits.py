"""Validation under bounds, end to end (gunicorn, one worker, a real PostgreSQL, loopback http-01):

- transient failures are tried again (RFC 8555 §8.2): connection refused keeps the challenge
  processing, with the failure in its error field and Retry-After, until the answer is served;
  refused every time ends invalid after challenges.max_attempts; a wrong answer is final at once;
- the account's pending validations are capped (429 rateLimited, Retry-After, stays pending);
- the process's validation queue is bounded (503 with Retry-After, stays pending);
- challenges waiting in a live instance's queue longer than stale_seconds are never taken by
  the stale-challenge recovery (each is fetched once and answered once).
"""
from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from support.acme_client import AcmeClient, Http01Responder, expect, problem_type
from support.server import RunningServer, start_server

ACME = "urn:ietf:params:acme:error:"
MAX_ATTEMPTS = 4
BACKOFF = 0.5  # attempts at 0, 0.5, 1.5 and 3.5 s
BUSY_RETRY_AFTER = 3
HOLD = 2.5  # how long the gated responder holds the first validation (stale_seconds is 1)


@pytest.fixture(scope="module")
def server(tmp_path_factory, dns_server) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("limits"), workers=1, dns=dns_server, overrides={
        "server": {"unavailable_retry_after_seconds": BUSY_RETRY_AFTER},
        "challenges": {
            "max_attempts": MAX_ATTEMPTS, "retry_backoff_seconds": BACKOFF,
            "validation_threads": 1, "validation_queue_size": 3, "max_pending_per_account": 2,
            "background_worker": {"poll_seconds": 0.2, "stale_seconds": 1},
        },
    })
    try:
        yield running
    finally:
        running.stop()


def challenge_of_new_order(client: AcmeClient) -> dict:
    order = expect(client.new_order([f"lim-{uuid.uuid4().hex[:10]}.localhost"]), 201).json()
    authz = expect(client.get_authz(order["authorizations"][0]), 200).json()
    return next(c for c in authz["challenges"] if c["type"] == "http-01")


def row(server: RunningServer, token: str) -> dict:
    with psycopg.connect(server.database_url, autocommit=True) as conn:
        found = conn.execute("SELECT status, attempts, retries, error FROM challenges"
                             " WHERE token = %s", (token,)).fetchone()
    return dict(zip(("status", "attempts", "retries", "error"), found, strict=True))


def new_client(server: RunningServer) -> AcmeClient:
    client = AcmeClient(server.directory_url)
    expect(client.new_account(), 201)
    return client


# --- retries ------------------------------------------------------------------------------
def test_refused_then_served_is_retried_until_valid(server: RunningServer) -> None:
    client = new_client(server)
    chall = challenge_of_new_order(client)
    expect(client.respond(chall["url"]), 200)  # nothing listens yet: connection refused
    retrying = client.poll(chall["url"], {"processing"}, timeout=10)
    for _ in range(100):  # bounded: until the first failure is shown
        if retrying.json().get("error"):
            break
        retrying = client.post(chall["url"])
    body = retrying.json()
    assert body["status"] == "processing", body
    assert body["error"]["type"] == ACME + "connection" and "refused" in body["error"]["detail"]
    assert 1 <= int(retrying.headers["Retry-After"]) <= 2  # the next attempt's time
    with Http01Responder(server.http01_port) as http01:
        http01.add(chall["token"], client.key_authorization(chall["token"]))
        final = client.poll(chall["url"], {"valid", "invalid"}, timeout=15).json()
        assert final["status"] == "valid", final
        assert "error" not in final
        assert http01.hits[chall["token"]] == 1
    assert 1 <= row(server, chall["token"])["retries"] < MAX_ATTEMPTS


@pytest.mark.parametrize(("answer", "problem", "retries"), [
    (None, "connection", MAX_ATTEMPTS - 1),  # refused every time: every attempt made
    ("wrong", "incorrectResponse", 0),  # a wrong key authorization is final at once
])
def test_failures_end_invalid(server: RunningServer, answer: str | None, problem: str,
                              retries: int) -> None:
    client = new_client(server)
    chall = challenge_of_new_order(client)
    responder = Http01Responder(server.http01_port)
    if answer is not None:
        responder.add(chall["token"], answer)
        responder.start()
    try:
        expect(client.respond(chall["url"]), 200)
        final = client.poll(chall["url"], {"valid", "invalid"}, timeout=20).json()
    finally:
        responder.stop()
    assert final["status"] == "invalid"
    assert final["error"]["type"] == ACME + problem
    stored = row(server, chall["token"])
    assert (stored["retries"], stored["attempts"]) == (retries, 1)
    if answer is not None:
        assert responder.hits[chall["token"]] == 1


# --- bounds -------------------------------------------------------------------------------
class GatedResponder(Http01Responder):
    """Holds every http-01 request until `gate` is set (bounded), then answers it."""

    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.gate = threading.Event()

    def lookup(self, token: str) -> str | None:
        self.gate.wait(HOLD * 4)
        return super().lookup(token)


def test_cap_queue_bound_and_no_redispatch_of_queued_challenges(server: RunningServer) -> None:
    first, second = new_client(server), new_client(server)
    mine = [challenge_of_new_order(first) for _ in range(3)]
    theirs = [challenge_of_new_order(second) for _ in range(2)]
    with GatedResponder(server.http01_port) as http01:
        for client, challs in ((first, mine), (second, theirs)):
            for chall in challs:
                http01.add(chall["token"], client.key_authorization(chall["token"]))
        # One validation thread, held at the gate: everything answered stays in processing.
        for chall in mine[:2]:
            assert expect(first.respond(chall["url"]), 200).json()["status"] == "processing"
        capped = first.respond(mine[2]["url"])  # max_pending_per_account is 2
        assert (capped.status_code, problem_type(capped)) == (429, ACME + "rateLimited")
        assert capped.headers["Retry-After"] == str(BUSY_RETRY_AFTER)
        assert expect(second.respond(theirs[0]["url"]), 200).json()["status"] == "processing"
        full = second.respond(theirs[1]["url"])  # validation_queue_size is 3
        assert (full.status_code, problem_type(full)) == (503, ACME + "serverInternal")
        assert full.headers["Retry-After"] == str(BUSY_RETRY_AFTER)
        for client, chall in ((first, mine[2]), (second, theirs[1])):
            assert expect(client.post(chall["url"]), 200).json()["status"] == "pending"
        # Queued far longer than stale_seconds (1 s) while the challenge worker polls every
        # 0.2 s: the heartbeat of this live instance keeps them its own.
        threading.Event().wait(HOLD)
        http01.gate.set()
        for client, chall in ((first, mine[0]), (first, mine[1]), (second, theirs[0])):
            assert client.poll(chall["url"], {"valid", "invalid"}, timeout=20).json()["status"] == "valid"
        # Room again: the refused answers go through now.
        for client, chall in ((first, mine[2]), (second, theirs[1])):
            expect(client.respond(chall["url"]), 200)
            assert client.poll(chall["url"], {"valid", "invalid"}, timeout=20).json()["status"] == "valid"
        assert all(http01.hits[c["token"]] == 1 for c in mine + theirs), http01.hits
    # attempts counts every dispatch: one each, none by the stale-challenge recovery
    assert [row(server, c["token"])["attempts"] for c in mine + theirs] == [1] * 5
