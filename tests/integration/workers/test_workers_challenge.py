"""The challenge worker: a challenge left in processing by a dead instance is answered again and
validated (RFC 8555 §7.5.1). First the authority function on seeded rows, then end to end:
a running server, a real loopback http-01 responder and a challenge forced stale with SQL."""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest
from prometheus_client import REGISTRY
from support.acme_client import AcmeClient, Http01Responder, expect
from support.server import RunningServer, start_server

from acmeeh.authority import recovery
from acmeeh.workers import challenge as challenge_worker

STALE = 300  # seconds


def set_challenge(seed, authz_id: uuid.UUID, *, status: str, since: timedelta | None,
                  attempts: int, now) -> uuid.UUID:
    cid = seed.one("SELECT id FROM challenges WHERE authorization_id = %s AND type = 'http-01'", authz_id)
    seed.conn.execute(
        "UPDATE challenges SET status = %s, processing_since = %s, attempts = %s WHERE id = %s",
        (status, None if since is None else now - since, attempts, cid))
    return cid


@pytest.mark.parametrize(("status", "since", "attempts", "authz_expires", "moved", "after"), [
    ("processing", timedelta(minutes=10), 1, timedelta(days=1), True, "processing"),  # stale
    ("processing", timedelta(minutes=1), 1, timedelta(days=1), False, "processing"),  # still running
    ("pending", None, 1, timedelta(days=1), True, "processing"),      # put back in line
    ("pending", None, 0, timedelta(days=1), False, "pending"),        # never answered
    ("valid", None, 1, timedelta(days=1), False, "valid"),            # finished
    ("processing", timedelta(minutes=10), 1, -timedelta(minutes=1), False, "pending"),  # authz expired
    ("processing", timedelta(minutes=10), 4, timedelta(days=1), True, "invalid"),  # gave up (> 3)
])
def test_requeue_challenge(make_env, seed, status, since, attempts, authz_expires, moved, after) -> None:
    h = make_env()
    now = h.clock()
    acct = seed.account()
    zid = seed.authz(acct, expires=now + authz_expires)
    oid = seed.order(acct, expires=now + timedelta(days=1), authzs=(zid,))
    cid = set_challenge(seed, zid, status=status, since=since, attempts=attempts, now=now)

    found = recovery.find_stale_challenges(h.env, stale_seconds=STALE, limit=50)
    row = recovery.requeue_challenge(h.env, cid, stale_seconds=STALE, max_requeues=3)

    assert (row is not None) == moved
    assert seed.one("SELECT status FROM challenges WHERE id = %s", cid) == after
    if after == "processing" and moved:
        assert cid in found and h.dispatched == [cid]
        assert seed.one("SELECT attempts FROM challenges WHERE id = %s", cid) == attempts + 1
    else:
        assert h.dispatched == []
    if after == "invalid":  # given up: the authorization and its order fail with serverInternal
        error = seed.one("SELECT error FROM challenges WHERE id = %s", cid)
        assert error["type"] == "urn:ietf:params:acme:error:serverInternal"
        assert seed.one("SELECT status FROM authorizations WHERE id = %s", zid) == "invalid"
        assert seed.one("SELECT status FROM orders WHERE id = %s", oid) == "invalid"


def test_tick_counts_polls_and_handles_a_batch(make_env, seed) -> None:
    h = make_env({"challenges": {"background_worker": {"batch_size": 2, "stale_seconds": STALE}}})
    now = h.clock()
    acct = seed.account()
    for _ in range(3):
        zid = seed.authz(acct, expires=now + timedelta(days=1))
        set_challenge(seed, zid, status="processing", since=timedelta(hours=1), attempts=1, now=now)
    polls = REGISTRY.get_sample_value("acmeeh_challenge_worker_polls_total") or 0.0
    tick = challenge_worker.make_tick(h.env)
    assert tick() == 2 and len(h.dispatched) == 2  # bounded by batch_size
    assert tick() == 1 and len(h.dispatched) == 3
    assert tick() == 0
    assert REGISTRY.get_sample_value("acmeeh_challenge_worker_polls_total") == polls + 3


# --- end to end against a running server ---------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory, dns_server) -> Iterator[RunningServer]:
    overrides = {"challenges": {"background_worker": {"poll_seconds": 0.5, "stale_seconds": 2}}}
    running = start_server(tmp_path_factory.mktemp("challenge_worker"), overrides=overrides,
                           dns=dns_server)
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.parametrize(("status", "attempts", "final"), [
    ("processing", 1, "valid"),   # the validating instance died mid-way
    ("pending", 1, "valid"),      # put back in line at shutdown
    ("processing", 4, "invalid"),  # kept dying: given up after max_requeues (3)
])
def test_stuck_challenge_is_validated_by_the_worker(server: RunningServer, status, attempts, final) -> None:
    client = AcmeClient(server.directory_url)
    expect(client.new_account(), 201)
    created = expect(client.new_order([f"stuck-{uuid.uuid4().hex[:8]}.localhost"]), 201)
    order, order_url = created.json(), created.headers["Location"]
    authz_url = order["authorizations"][0]
    chall = next(c for c in expect(client.get_authz(authz_url), 200).json()["challenges"]
                 if c["type"] == "http-01")
    with Http01Responder(server.http01_port) as http01, \
            psycopg.connect(server.database_url, autocommit=True) as conn:
        http01.add(chall["token"], client.key_authorization(chall["token"]))
        # What a crashed instance leaves behind: answered, never finished.
        conn.execute("UPDATE challenges SET status = %s, attempts = %s,"
                     " processing_since = CASE WHEN %s = 'processing' THEN now() - interval '1 hour' END"
                     " WHERE token = %s", (status, attempts, status, chall["token"]))
        started = time.monotonic()
        authz = client.poll(authz_url, {"valid", "invalid"}, timeout=20).json()
        took = time.monotonic() - started
        print(f"\n{status} challenge (attempts {attempts}) → {authz['status']} in {took:.2f}s")
        assert authz["status"] == final
        row = conn.execute("SELECT status, attempts, error FROM challenges WHERE token = %s",
                           (chall["token"],)).fetchone()
    assert row[0] == final and row[1] == attempts + 1
    if final == "valid":
        assert http01.hits.get(chall["token"], 0) >= 1
        assert expect(client.post(order_url), 200).json()["status"] == "ready"
    else:
        assert row[2]["type"] == "urn:ietf:params:acme:error:serverInternal"
