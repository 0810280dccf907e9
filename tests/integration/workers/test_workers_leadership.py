"""Advisory-lock leadership on a real PostgreSQL: one leader per lock, and a take-over within one
poll interval when the leader's session ends (terminated backend, or a process killed with -9)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
from prometheus_client import REGISTRY
from support.database import ROOT

from acmeeh.store.locks import Leadership, LockConnectionError, LockSession
from acmeeh.workers.loop import LeaderLoop
from acmeeh.workers.supervisor import LOOPS, Supervisor

LOCK = 7_120_099  # not one of ACMEEH's own lock ids
INTERVAL = 0.5


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.02) -> float:
    """Poll until `predicate()`; return the seconds it took. Fails the test after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout}s")


def terminate(db_url: str, backend_pid: int) -> None:
    """Cut a session from a third connection, as a crashed host or a network cut would."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (backend_pid,)).fetchone()[0]


@pytest.fixture
def loops() -> Iterator[list[LeaderLoop]]:
    made: list[LeaderLoop] = []
    yield made
    for loop in made:
        assert loop.stop(5), f"{loop.name} did not stop"


def sample(name: str, worker: str) -> float:
    return REGISTRY.get_sample_value(name, {"worker": worker}) or 0.0


# --- Leadership: the lock connection itself -----------------------------------------------
def test_one_holder_per_lock(db_url: str) -> None:
    a, b = Leadership(db_url, name="a"), Leadership(db_url, name="b")
    try:
        assert a.try_acquire(LOCK) and a.check()
        assert not b.try_acquire(LOCK)
        assert a.try_acquire(LOCK)  # re-entrant for the holder, still one holder
        assert b.try_acquire(LOCK + 1)  # other locks are independent
        a.release()
        assert not a.held and b.try_acquire(LOCK) and b.check()
        assert not a.try_acquire(LOCK)
    finally:
        a.close()
        b.close()


def test_terminated_backend_loses_leadership(db_url: str) -> None:
    a, b = Leadership(db_url, name="a"), Leadership(db_url, name="b")
    try:
        assert a.try_acquire(LOCK) and not b.try_acquire(LOCK)
        terminate(db_url, a.backend_pid)
        wait_for(lambda: b.try_acquire(LOCK), timeout=5)
        assert not a.check() and not a.held
        assert not a.try_acquire(LOCK)  # reconnects, but b holds it now
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("conninfo", [
    "host=127.0.0.1 port=1 dbname=x user=x connect_timeout=2",  # nothing listens on port 1
    "host=/nonexistent-socket-dir dbname=x user=x",
])
def test_unreachable_database_raises(conninfo: str) -> None:
    lead = Leadership(conninfo, name="down")
    with pytest.raises(LockConnectionError):
        lead.try_acquire(LOCK)
    assert not lead.check() and lead.backend_pid is None
    lead.close()


# --- LeaderLoop ---------------------------------------------------------------------------
def test_exactly_one_of_two_loops_leads_and_the_lock_survives_a_cut(db_url: str, loops: list[LeaderLoop]) -> None:
    ticks = {"one": 0, "two": 0}

    def counter(name: str) -> Callable[[], None]:
        def tick() -> None:
            ticks[name] += 1
        return tick

    loops += [LeaderLoop(n, LOCK, INTERVAL, counter(n), conninfo=db_url).start() for n in ticks]
    wait_for(lambda: any(loop.is_leader for loop in loops), timeout=5)
    for _ in range(10):  # over ~4 intervals, never two leaders
        assert sum(loop.is_leader for loop in loops) == 1
        time.sleep(INTERVAL / 2.5)
    leader, follower = sorted(loops, key=lambda loop: not loop.is_leader)
    assert ticks[leader.name] >= 2 and ticks[follower.name] == 0

    # Cut the leader's session. Whichever loop asks first gets the lock again (the old leader
    # reconnects too: its process is alive); the lock is never free for more than one interval.
    old_pid = leader.backend_pid
    terminate(db_url, old_pid)
    took = wait_for(lambda: lock_holder(db_url) not in (None, old_pid), timeout=INTERVAL * 4)
    print(f"\nnew leader session after pg_terminate_backend: {took:.3f}s (interval {INTERVAL}s)")
    assert took <= INTERVAL + 0.5
    wait_for(lambda: sum(loop.is_leader for loop in loops) == 1, timeout=INTERVAL * 4)
    holder = lock_holder(db_url)
    assert [loop.backend_pid for loop in loops if loop.is_leader] == [holder]
    counts = dict(ticks)
    time.sleep(INTERVAL * 2)
    moved = [name for name in ticks if ticks[name] != counts[name]]
    assert len(moved) == 1 and all(loop.alive for loop in loops)


def lock_holder(db_url: str) -> int | None:
    """The backend pid holding LOCK, from pg_locks."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND ((classid::bigint << 32) | objid::bigint) = %s", (LOCK,)).fetchone()
    return row[0] if row else None


HOLDER = """
import sys, time
from acmeeh.store.locks import Leadership
lead = Leadership(sys.argv[1], name="holder")
assert lead.try_acquire(int(sys.argv[2]))
print("held", flush=True)
time.sleep(60)
"""


def test_takeover_after_holder_process_is_killed(db_url: str, loops: list[LeaderLoop]) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, db_url, str(LOCK)], env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        ticked = threading.Event()
        loop = LeaderLoop("standby", LOCK, INTERVAL, ticked.set, conninfo=db_url).start()
        loops.append(loop)
        time.sleep(INTERVAL * 3.5)  # the kill lands mid-interval: worst case is a whole one
        assert loop.alive and not loop.is_leader and not ticked.is_set()

        killed = time.monotonic()
        holder.send_signal(signal.SIGKILL)
        assert ticked.wait(INTERVAL * 6), "no take-over after the holder was killed"
        took = time.monotonic() - killed
        print(f"\ntake-over after SIGKILL of the holder process: {took:.3f}s (interval {INTERVAL}s)")
        assert loop.is_leader and took <= INTERVAL + 0.5
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_tick_errors_are_counted_and_do_not_stop_the_loop(db_url: str, loops: list[LeaderLoop]) -> None:
    calls = []

    def tick() -> None:
        calls.append(1)
        if len(calls) % 2:
            raise RuntimeError("boom")

    errors_before = sample("acmeeh_worker_errors_total", "flaky")
    runs_before = sample("acmeeh_worker_runs_total", "flaky")
    loop = LeaderLoop("flaky", LOCK, 0.05, tick, conninfo=db_url).start()
    loops.append(loop)
    wait_for(lambda: len(calls) >= 6, timeout=5)
    assert loop.alive and loop.errors >= 3
    assert sample("acmeeh_worker_errors_total", "flaky") - errors_before >= 3
    assert sample("acmeeh_worker_runs_total", "flaky") - runs_before >= 6


def test_stop_is_prompt_and_releases_the_lock(db_url: str) -> None:
    loop = LeaderLoop("slow", LOCK, 3600, lambda: None, conninfo=db_url).start()
    wait_for(lambda: loop.is_leader, timeout=5)
    started = time.monotonic()
    assert loop.stop(5)
    assert time.monotonic() - started < 1.0 and not loop.alive and not loop.is_leader
    other = Leadership(db_url, name="after")
    try:
        assert other.try_acquire(LOCK)
    finally:
        other.close()


def test_unreachable_database_backs_off_and_stops(db_url: str) -> None:
    loop = LeaderLoop("down", LOCK, 0.05, lambda: None,
                      conninfo="host=127.0.0.1 port=1 dbname=x user=x connect_timeout=2").start()
    time.sleep(0.5)
    assert loop.alive and not loop.is_leader and loop.ticks == 0
    assert loop.cycles == 0  # still backing off: no cycle got as far as asking for the lock
    started = time.monotonic()
    assert loop.stop(5) and time.monotonic() - started < 1.0


@pytest.mark.parametrize("interval", [0, -1])
def test_interval_must_be_positive(interval: float) -> None:
    with pytest.raises(ValueError):
        LeaderLoop("bad", LOCK, interval, lambda: None, conninfo="")


# --- Supervisor ---------------------------------------------------------------------------
@pytest.mark.parametrize("challenge_enabled", [True, False])
def test_supervisor_status_and_one_leader_per_loop(make_env, db_url: str, challenge_enabled: bool) -> None:
    mine = tuple(spec for spec in LOOPS if spec.name in ("challenge", "cleanup"))
    overrides = {"challenges": {"background_worker": {"enabled": challenge_enabled, "poll_seconds": 0.2}},
                 "nonce": {"gc_interval_seconds": 1}}
    sups = [Supervisor(make_env(overrides).env, conninfo=db_url, loops=mine) for _ in range(2)]
    assert sups[0].status() == {"challenge": False, "cleanup": False}  # not started yet
    try:
        for sup in sups:
            sup.start()
        running = ["challenge", "cleanup"] if challenge_enabled else ["cleanup"]
        for sup in sups:
            assert sup.status() == {"challenge": challenge_enabled, "cleanup": True}
            assert sorted(sup.leaders()) == running
            assert sup.details()["challenge"]["enabled"] is challenge_enabled
        for name in running:
            wait_for(lambda n=name: sum(sup.leaders()[n] for sup in sups) == 1, timeout=5)
    finally:
        started = time.monotonic()
        assert all(sup.stop(5) for sup in sups)
        assert time.monotonic() - started < 3  # the cleanup loop sleeps 1 s; stop does not wait it out
    for sup in sups:
        assert not any(sup.status().values()) and not any(sup.leaders().values())


def test_locks_sharing_one_session_are_lost_and_retaken_together(db_url: str) -> None:
    session = LockSession(db_url, name="shared")
    a, b = Leadership(name="a", session=session), Leadership(name="b", session=session)
    try:
        assert a.try_acquire(LOCK) and b.try_acquire(LOCK + 1) and a.backend_pid == b.backend_pid
        a.close()  # a shared session stays open for the others
        assert not a.held and b.check() and session.connected
        assert a.try_acquire(LOCK)
        terminate(db_url, session.backend_pid)
        assert not a.check() and not b.check()
        assert a.try_acquire(LOCK) and b.try_acquire(LOCK + 1)  # one new session for both
        assert a.backend_pid == b.backend_pid
    finally:
        session.close()
    assert not session.connected
    with pytest.raises(LockConnectionError):
        a.try_acquire(LOCK)  # closed for good
