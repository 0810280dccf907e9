"""Two ACMEEH instances on one database, every background loop on an interval of an hour: the
first instance leads every loop; `kill -9` of it and the second leads each loop, and runs its
work, within one election period (workers.election_seconds), not one interval. It then
validates the challenge and fails the order the dead one left in processing. Prints the
takeover time of every loop."""
from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from aiosmtpd.controller import Controller
from opstools import get, get_json, samples, total, wait_until
from support.acme_client import AcmeClient, Http01Responder, expect
from support.dns import free_port
from support.server import RunningServer, start_server

HOUR = 3600  # every loop's own interval: a takeover that waited for it would never be seen
ELECTION = 0.5
# One election period, plus PostgreSQL ending the dead sessions and the first tick's own work.
TAKEOVER_BOUND = ELECTION + 1.5
LOOPS = ("challenge", "cleanup", "expiration", "notifications", "crl")


def overrides(smtp_port: int) -> dict:
    return {
        "workers": {"election_seconds": ELECTION},
        "challenges": {"background_worker": {"poll_seconds": HOUR, "stale_seconds": 2}},
        "nonce": {"gc_interval_seconds": HOUR},
        "security": {"rate_limits": {"gc_interval_seconds": HOUR}},
        "order": {"cleanup_interval_seconds": HOUR, "stale_processing_threshold_seconds": HOUR},
        "retention": {"interval_seconds": HOUR},
        "notifications": {"enabled": True, "expiration_check_interval_seconds": HOUR,
                          "delivery_interval_seconds": HOUR},
        "smtp": {"enabled": True, "host": "127.0.0.1", "port": smtp_port, "use_tls": False,
                 "from_address": "ca@example.test", "timeout_seconds": 5},
        "crl": {"poll_seconds": HOUR},
    }


class _Sink:
    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        return "250 OK"


def health(server: RunningServer) -> dict:
    """/healthz checks (one gunicorn worker: it always answers from the same process)."""
    status, body = get_json(f"{server.base_url}/healthz", timeout=5)
    assert status == 200, body
    return body["checks"]


def runs(server: RunningServer) -> dict[str, float]:
    """acmeeh_worker_runs_total per loop on this instance."""
    status, _headers, text = get(f"{server.base_url}/metrics", timeout=5)
    assert status == 200
    values = samples(text.decode())
    return {name: total(values, "acmeeh_worker_runs_total", worker=name) for name in LOOPS}


@pytest.fixture
def smtp_port() -> Iterator[int]:
    controller = Controller(_Sink(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


@pytest.fixture
def pair(tmp_path, dns_server, smtp_port: int) -> Iterator[list[RunningServer]]:
    config = overrides(smtp_port)
    first = start_server(tmp_path / "a", overrides=config, workers=1, dns=dns_server)
    servers = [first]
    try:
        # The first leads every loop before the second exists.
        wait_until(lambda: all(health(first)["leaders"].get(name) for name in LOOPS), timeout=10)
        servers.append(start_server(tmp_path / "b", workers=1, dns=dns_server, overrides={
            **config, "database": {"url": first.database_url},
            "challenges": {**config["challenges"], "http01": {"port": first.http01_port}}}))
        yield servers
    finally:
        for server in reversed(servers):  # the first owns the database: drop it last
            server.stop()


def test_kill_9_of_the_leader_every_loop_taken_over_within_an_election(
        pair: list[RunningServer]) -> None:
    leader, survivor = pair
    checks = health(survivor)
    assert all(checks["workers"][name] for name in LOOPS), checks["workers"]
    assert not any(checks["leaders"].get(name) for name in LOOPS), checks["leaders"]
    before = runs(survivor)
    time.sleep(ELECTION * 2)  # the survivor has asked for the locks: it is a standby
    assert runs(survivor) == before  # a standby runs nothing

    client = AcmeClient(survivor.directory_url)
    expect(client.new_account(), 201)
    order = expect(client.new_order([f"fo-{uuid.uuid4().hex[:8]}.localhost"]), 201).json()
    chall = next(c for c in expect(client.get_authz(order["authorizations"][0]), 200)
                 .json()["challenges"] if c["type"] == "http-01")
    stuck_order = uuid.uuid4()
    with psycopg.connect(leader.database_url, autocommit=True) as conn, \
            Http01Responder(survivor.http01_port) as http01:
        http01.add(chall["token"], client.key_authorization(chall["token"]))
        # What the leader was doing when it died: validating this challenge, finalizing an
        # order. Its loops already ran at start-up and would not look again for an hour.
        conn.execute("UPDATE challenges SET status = 'processing', attempts = 1,"
                     " processing_since = now() - interval '1 hour' WHERE token = %s",
                     (chall["token"],))
        conn.execute("INSERT INTO orders (id, account_id, status, identifiers, expires, updated_at)"
                     " VALUES (%s, %s, 'processing', '[]', now() + interval '1 day',"
                     " now() - interval '2 hours')", (stuck_order, client.kid.rsplit("/", 1)[1]))
        os.killpg(leader.process.pid, signal.SIGKILL)  # master and worker, no shutdown at all
        killed = time.monotonic()
        took: dict[str, float] = {}

        def taken_over() -> bool:
            leading, ran, now = health(survivor)["leaders"], runs(survivor), time.monotonic()
            for name in LOOPS:
                if name not in took and leading.get(name) and ran[name] > before[name]:
                    took[name] = now - killed
            return len(took) == len(LOOPS)

        wait_until(taken_over, timeout=15, step=0.05)
        authz = client.poll(order["authorizations"][0], {"valid", "invalid"}, timeout=20).json()
        assert authz["status"] == "valid"
        wait_until(lambda: conn.execute("SELECT status FROM orders WHERE id = %s",
                                        (stuck_order,)).fetchone()[0] == "invalid", timeout=10)
        recovered = time.monotonic() - killed
    assert survivor.alive()
    print(f"\nkill -9 of the leader (loop intervals {HOUR}s, election {ELECTION}s): the other "
          "instance led and ran " + ", ".join(f"{n} {took[n]:.2f}s" for n in LOOPS)
          + f" after the kill; stuck challenge valid and stuck order invalid {recovered:.2f}s after")
    slow = {name: t for name, t in took.items() if t > TAKEOVER_BOUND}
    assert not slow, f"takeover slower than {TAKEOVER_BOUND}s: {slow}"
