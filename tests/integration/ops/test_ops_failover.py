"""Two ACMEEH instances on one database, watched through /healthz: each background loop has its
leader in exactly one of them; `kill -9` of the instance leading the challenge loop and the other
leads every loop within the poll interval, then validates the challenge and fails the order the
dead one left in processing. Prints the takeover and recovery times."""
from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from opstools import get_json, wait_until
from support.acme_client import AcmeClient, Http01Responder, expect
from support.server import RunningServer, start_server

POLL = 0.5  # the challenge and CRL loops' interval
SLOWEST = 1.0  # the other loops' interval (the schema's minimum)
LOOPS = ("challenge", "cleanup", "expiration", "crl")
OVERRIDES = {
    "challenges": {"background_worker": {"poll_seconds": POLL, "stale_seconds": 2}},
    "nonce": {"gc_interval_seconds": SLOWEST},
    "order": {"cleanup_interval_seconds": SLOWEST, "stale_processing_threshold_seconds": 60},
    "notifications": {"expiration_check_interval_seconds": SLOWEST},
    "crl": {"poll_seconds": POLL},
}


def leaders(server: RunningServer) -> dict[str, bool]:
    """The loops this instance leads (one gunicorn worker: /healthz always asks the same one)."""
    status, body = get_json(f"{server.base_url}/healthz", timeout=5)
    assert status == 200, body
    assert all(body["checks"]["workers"][name] for name in LOOPS), body["checks"]["workers"]
    return body["checks"]["leaders"]


@pytest.fixture
def pair(tmp_path, dns_server) -> Iterator[list[RunningServer]]:
    first = start_server(tmp_path / "a", overrides=OVERRIDES, workers=1, dns=dns_server)
    servers = [first]
    try:
        servers.append(start_server(tmp_path / "b", workers=1, dns=dns_server, overrides={
            **OVERRIDES, "database": {"url": first.database_url},
            "challenges": {**OVERRIDES["challenges"], "http01": {"port": first.http01_port}}}))
        yield servers
    finally:
        for server in reversed(servers):  # the first owns the database: drop it last
            server.stop()


def test_kill_9_of_the_leader(pair: list[RunningServer]) -> None:
    def split() -> bool:  # every loop led by exactly one instance
        seen = [leaders(s) for s in pair]
        return all(sum(bool(s.get(name)) for s in seen) == 1 for name in LOOPS)

    wait_until(split, timeout=10)
    leader = next(s for s in pair if leaders(s).get("challenge"))
    survivor = next(s for s in pair if s is not leader)

    client = AcmeClient(survivor.directory_url)
    expect(client.new_account(), 201)
    order = expect(client.new_order([f"fo-{uuid.uuid4().hex[:8]}.localhost"]), 201).json()
    chall = next(c for c in expect(client.get_authz(order["authorizations"][0]), 200)
                 .json()["challenges"] if c["type"] == "http-01")
    stuck_order = uuid.uuid4()
    with psycopg.connect(pair[0].database_url, autocommit=True) as conn, \
            Http01Responder(survivor.http01_port) as http01:
        http01.add(chall["token"], client.key_authorization(chall["token"]))
        os.killpg(leader.process.pid, signal.SIGKILL)  # master and worker, no shutdown at all
        killed = time.monotonic()
        # What the dead instance was doing: validating this challenge, finalizing an order.
        conn.execute("UPDATE challenges SET status = 'processing', attempts = 1,"
                     " processing_since = now() - interval '1 hour' WHERE token = %s",
                     (chall["token"],))
        conn.execute("INSERT INTO orders (id, account_id, status, identifiers, expires, updated_at)"
                     " VALUES (%s, %s, 'processing', '[]', now() + interval '1 day',"
                     " now() - interval '1 hour')", (stuck_order, client.kid.rsplit("/", 1)[1]))
        took = wait_until(lambda: all(leaders(survivor).get(name) for name in LOOPS), timeout=10)
        assert took <= SLOWEST + 1.5  # one interval, plus PostgreSQL ending the dead sessions
        authz = client.poll(order["authorizations"][0], {"valid", "invalid"}, timeout=20).json()
        assert authz["status"] == "valid"
        wait_until(lambda: conn.execute("SELECT status FROM orders WHERE id = %s",
                                        (stuck_order,)).fetchone()[0] == "invalid", timeout=10)
        recovered = time.monotonic() - killed
        assert conn.execute("SELECT count(*) FROM challenges WHERE status = 'processing'"
                            ).fetchone()[0] == 0
    assert survivor.alive()
    print(f"\nkill -9 of the leader: the other instance led all {len(LOOPS)} loops {took:.2f}s "
          f"later (intervals {POLL}s to {SLOWEST}s); stuck challenge valid and stuck order invalid "
          f"{recovered:.2f}s after the kill")
