"""Two ACMEEH server processes (gunicorn, 2 workers each) on one database: every background
loop has exactly one leader among the four processes; `kill -9` of the leader's server and the
other server takes over within the poll interval and recovers the work left in processing."""
from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from support.acme_client import AcmeClient, Http01Responder, expect
from support.server import RunningServer, start_server

from acmeeh.workers.supervisor import LOOPS

POLL = 0.5
CLEANUP = 1  # the shortest cleanup task interval below
LOCKS = {"challenge": 712003, "cleanup": 712001}
OVERRIDES = {
    "challenges": {"background_worker": {"poll_seconds": POLL, "stale_seconds": 2}},
    "nonce": {"gc_interval_seconds": 1},
    "order": {"cleanup_interval_seconds": 1, "stale_processing_threshold_seconds": 60},
}


def parent_pid(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("PPid:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def holders(conn: psycopg.Connection) -> dict[str, int | None]:
    """Per loop: the OS pid of the ACMEEH process whose session holds the loop's lock."""
    out: dict[str, int | None] = {}
    for name, lock in LOCKS.items():
        row = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND ((l.classid::bigint << 32) | l.objid::bigint) = %s", (lock,)).fetchone()
        out[name] = int(row[0].rsplit("-", 1)[1]) if row else None
    return out


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout}s")


@pytest.fixture
def pair(tmp_path, dns_server) -> Iterator[list[RunningServer]]:
    first = start_server(tmp_path / "a", overrides=OVERRIDES, dns=dns_server)
    servers = [first]
    try:
        servers.append(start_server(tmp_path / "b", dns=dns_server, overrides={
            **OVERRIDES, "database": {"url": first.database_url},
            "challenges": {**OVERRIDES["challenges"], "http01": {"port": first.http01_port}}}))
        yield servers
    finally:
        for server in reversed(servers):  # the first owns the database: drop it last
            server.stop()


def test_loops_declared_once_with_their_lock_ids() -> None:
    declared = {spec.name: spec.lock_id for spec in LOOPS}
    assert declared.items() >= LOCKS.items()
    assert len(set(declared.values())) == len(LOOPS)  # never two loops on one lock
    assert 712000 not in declared.values()  # the migrations' lock


def test_kill_9_of_the_leader_and_the_other_server_takes_over(pair: list[RunningServer]) -> None:
    servers = {s.process.pid: s for s in pair}
    with psycopg.connect(pair[0].database_url, autocommit=True) as conn:
        # Every gunicorn worker of both servers runs each loop; exactly one holds each lock.
        wait_for(lambda: all(holders(conn).values()), timeout=10)
        # One lock session per gunicorn worker carries the locks of all its loops.
        wait_for(lambda: conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name LIKE 'acmeeh-workers-%%'").fetchone()[0] == 4, timeout=10)
        leader_pid = holders(conn)["challenge"]
        leader = servers[parent_pid(leader_pid)]
        survivor = next(s for s in pair if s is not leader)

        # Work a client left with the leader: an answered challenge, an order in processing.
        client = AcmeClient(survivor.directory_url)
        expect(client.new_account(), 201)
        created = expect(client.new_order([f"failover-{uuid.uuid4().hex[:8]}.localhost"]), 201)
        authz_url = created.json()["authorizations"][0]
        chall = next(c for c in expect(client.get_authz(authz_url), 200).json()["challenges"]
                     if c["type"] == "http-01")
        account_id = client.kid.rsplit("/", 1)[1]
        stuck_order = uuid.uuid4()
        conn.execute("INSERT INTO orders (id, account_id, status, identifiers, expires, updated_at)"
                     " VALUES (%s, %s, 'processing', '[]', now() + interval '1 day',"
                     " now() - interval '1 hour')", (stuck_order, account_id))

        with Http01Responder(survivor.http01_port) as http01:
            http01.add(chall["token"], client.key_authorization(chall["token"]))
            os.killpg(leader.process.pid, signal.SIGKILL)  # the whole server: master and workers
            killed = time.monotonic()
            conn.execute("UPDATE challenges SET status = 'processing', attempts = 1,"
                         " processing_since = now() - interval '1 hour' WHERE token = %s",
                         (chall["token"],))

            def taken_over() -> bool:
                now = holders(conn)
                return all(pid and servers.get(parent_pid(pid)) is survivor for pid in now.values())

            wait_for(taken_over, timeout=10)
            took = time.monotonic() - killed
            print(f"\nall loops led by the surviving server {took:.3f}s after kill -9"
                  f" (intervals: challenge {POLL}s, cleanup {CLEANUP}s)")
            # One interval of the slowest loop, plus the time PostgreSQL needs to end the sessions.
            assert took <= max(POLL, CLEANUP) + 1.0

            authz = client.poll(authz_url, {"valid", "invalid"}, timeout=20).json()
            assert authz["status"] == "valid"
            wait_for(lambda: conn.execute("SELECT status FROM orders WHERE id = %s",
                                          (stuck_order,)).fetchone()[0] == "invalid", timeout=10)
        recovered = time.monotonic() - killed
        print(f"stuck challenge valid and stuck order invalid {recovered:.3f}s after kill -9")
        assert conn.execute("SELECT count(*) FROM challenges WHERE status = 'processing'").fetchone()[0] == 0
        assert survivor.alive()
