"""Each cleanup task on seeded rows (real PostgreSQL, the clock injected through Env.clock):
what it must change changes, and what it must keep (certificates, live work) stays."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from acmeeh.workers.cleanup import MAX_BATCHES, TASKS, CleanupWorker, Task

DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def empty_tables(seed) -> None:
    seed.conn.execute("TRUNCATE nonces, accounts, orders, authorizations, challenges, certificates,"
                      " order_authorizations CASCADE")


def task(name: str) -> Task:
    return next(t for t in TASKS if t.name == name)


def status_of(seed, table: str, row_id: uuid.UUID) -> str | None:
    return seed.one(f"SELECT status FROM {table} WHERE id = %s", row_id)


def runs(task_name: str) -> float:
    return REGISTRY.get_sample_value("acmeeh_cleanup_runs_total", {"task": task_name}) or 0.0


# --- nonces -------------------------------------------------------------------------------
@pytest.mark.parametrize(("expired", "live", "batch", "left_expired"), [
    (5, 3, 500, 0),                    # everything expired goes
    (0, 4, 500, 0),                    # nothing to do
    (25, 2, 2, 25 - 2 * MAX_BATCHES),  # one run is bounded: MAX_BATCHES batches of `batch`
])
def test_nonce_gc(make_env, seed, expired: int, live: int, batch: int, left_expired: int) -> None:
    h = make_env({"retention": {"batch_size": batch}})
    now = h.clock()
    for i in range(expired):
        seed.conn.execute("INSERT INTO nonces VALUES (%s, %s)", (f"old{i}", now - timedelta(seconds=i + 1)))
    for i in range(live):
        seed.conn.execute("INSERT INTO nonces VALUES (%s, %s)", (f"new{i}", now + timedelta(minutes=5)))
    before = runs("nonces")
    done = CleanupWorker(h.env).run_task(task("nonces"))
    assert done == expired - left_expired
    assert seed.one("SELECT count(*) FROM nonces WHERE expires_at <= %s", now) == left_expired
    assert seed.one("SELECT count(*) FROM nonces WHERE expires_at > %s", now) == live
    assert runs("nonces") == before + 1


# --- order expiry (RFC 8555 §7.1.6) ----------------------------------------------------------
@pytest.mark.parametrize(("status", "expires_in", "after"), [
    ("pending", -DAY, "invalid"),
    ("ready", -timedelta(seconds=1), "invalid"),
    ("pending", DAY, "pending"),          # not expired yet
    ("processing", -DAY, "processing"),   # the stale-processing task's business, not this one's
    ("invalid", -DAY, "invalid"),
])
def test_order_expiry(make_env, seed, status: str, expires_in: timedelta, after: str) -> None:
    h = make_env()
    acct = seed.account()
    zid = seed.authz(acct, expires=h.clock() + DAY, status="valid" if status == "ready" else "pending")
    oid = seed.order(acct, status=status, expires=h.clock() + expires_in, authzs=(zid,))
    CleanupWorker(h.env).run_task(task("orders_expiry"))
    assert status_of(seed, "orders", oid) == after
    if status in ("pending", "ready") and after == "invalid":
        error = seed.one("SELECT error FROM orders WHERE id = %s", oid)
        assert error["type"].startswith("urn:ietf:params:acme:error:") and "expired" in error["detail"]


# --- stale processing orders ---------------------------------------------------------------
@pytest.mark.parametrize(("age", "after"), [
    (timedelta(minutes=11), "invalid"),   # default threshold 600 s
    (timedelta(minutes=5), "processing"),
])
def test_stale_processing_orders(make_env, seed, age: timedelta, after: str) -> None:
    h = make_env()
    acct = seed.account()
    oid = seed.order(acct, status="processing", expires=h.clock() + DAY, updated_at=h.clock() - age)
    CleanupWorker(h.env).run_task(task("stale_processing"))
    assert status_of(seed, "orders", oid) == after
    if after == "invalid":
        error = seed.one("SELECT error FROM orders WHERE id = %s", oid)
        assert error["type"] == "urn:ietf:params:acme:error:serverInternal"


# --- authorization expiry ------------------------------------------------------------------
@pytest.mark.parametrize(("status", "expires_in", "after", "order_after"), [
    ("pending", -timedelta(minutes=1), "expired", "invalid"),
    ("valid", -timedelta(minutes=1), "expired", "invalid"),
    ("pending", timedelta(minutes=1), "pending", "pending"),
    ("invalid", -DAY, "invalid", "pending"),
    ("deactivated", -DAY, "deactivated", "pending"),
])
def test_authz_expiry(make_env, seed, status, expires_in, after, order_after) -> None:
    h = make_env()
    acct = seed.account()
    zid = seed.authz(acct, status=status, expires=h.clock() + expires_in)
    oid = seed.order(acct, status="pending", expires=h.clock() + DAY, authzs=(zid,))
    expired_before = REGISTRY.get_sample_value("acmeeh_challenges_expired_total") or 0.0
    CleanupWorker(h.env).run_task(task("authz_expiry"))
    assert status_of(seed, "authorizations", zid) == after
    assert status_of(seed, "orders", oid) == order_after
    counted = (REGISTRY.get_sample_value("acmeeh_challenges_expired_total") or 0.0) - expired_before
    assert counted == (2 if (status, after) == ("pending", "expired") else 0)  # both challenges


def test_authz_expiry_follows_the_injected_clock(make_env, seed) -> None:
    h = make_env()
    acct = seed.account()
    zid = seed.authz(acct, expires=h.clock() + timedelta(hours=1))
    worker = CleanupWorker(h.env)
    worker.run_task(task("authz_expiry"))
    assert status_of(seed, "authorizations", zid) == "pending"
    h.clock.advance(hours=2)
    worker.run_task(task("authz_expiry"))
    assert status_of(seed, "authorizations", zid) == "expired"


# --- retention ----------------------------------------------------------------------------
def test_retention_deletes_only_what_it_may(make_env, seed) -> None:
    h = make_env({"retention": {"orders_days": 90, "authorizations_days": 90}})
    now, old = h.clock(), h.clock() - 91 * DAY
    acct = seed.account()
    # An old order that got a certificate: kept, with its authorization and challenges.
    kept_authz = seed.authz(acct, status="valid", expires=old)
    kept_order = seed.order(acct, status="processing", expires=old, authzs=(kept_authz,))
    cert = seed.certificate(acct, kept_order, not_after=old + 30 * DAY)
    # An old invalid order without a certificate, and its authorization: deleted.
    gone_authz = seed.authz(acct, status="invalid", expires=old)
    gone_order = seed.order(acct, status="invalid", expires=old, authzs=(gone_authz,))
    # Recent ones, a shared authorization, and one still processing: kept.
    recent_authz = seed.authz(acct, status="expired", expires=now - 10 * DAY)
    recent_order = seed.order(acct, status="invalid", expires=now - 10 * DAY, authzs=(recent_authz,))
    shared_authz = seed.authz(acct, status="expired", expires=old)
    seed.order(acct, status="invalid", expires=now - DAY, authzs=(shared_authz,))
    processing = seed.order(acct, status="processing", expires=old)
    lonely_authz = seed.authz(acct, status="deactivated", expires=old)  # no order: deleted
    certs_before = seed.one("SELECT count(*) FROM certificates")

    assert CleanupWorker(h.env).run_task(task("retention")) == 3  # 1 order + 2 authorizations

    def exists(table: str, row_id: uuid.UUID) -> bool:
        return seed.one(f"SELECT count(*) FROM {table} WHERE id = %s", row_id) == 1

    assert not exists("orders", gone_order)
    assert not exists("authorizations", gone_authz) and not exists("authorizations", lonely_authz)
    assert seed.one("SELECT count(*) FROM challenges WHERE authorization_id = %s", gone_authz) == 0
    for table, row in [("orders", kept_order), ("authorizations", kept_authz), ("certificates", cert),
                       ("orders", recent_order), ("authorizations", recent_authz),
                       ("authorizations", shared_authz), ("orders", processing)]:
        assert exists(table, row), (table, row)
    assert seed.one("SELECT count(*) FROM challenges WHERE authorization_id = %s", kept_authz) == 2
    assert seed.one("SELECT count(*) FROM certificates") == certs_before
    assert seed.one("SELECT count(*) FROM accounts WHERE id = %s", acct) == 1


def test_retention_can_be_disabled(make_env) -> None:
    worker = CleanupWorker(make_env({"retention": {"enabled": False}}).env)
    assert "retention" not in [t.name for t in worker.tasks]


# --- scheduling ---------------------------------------------------------------------------
def test_each_task_keeps_its_own_interval(make_env) -> None:
    h = make_env({"nonce": {"gc_interval_seconds": 10}, "order": {"cleanup_interval_seconds": 100}})
    now = [1000.0]
    worker = CleanupWorker(h.env, clock=lambda: now[0])
    assert worker.interval == 10
    # everything enabled runs on the first tick (audit retention is off: audit_days is null)
    assert set(worker.tick()) == {t.name for t in TASKS} - {"audit_retention"}
    now[0] += 5
    assert worker.tick() == {}
    now[0] += 5
    assert set(worker.tick()) == {"nonces"}
    now[0] += 90
    assert set(worker.tick()) == {"nonces", "orders_expiry", "stale_processing", "authz_expiry"}


def test_a_failing_task_is_counted_and_the_others_still_run(make_env) -> None:
    def broken(env, limit):
        raise RuntimeError("boom")

    tasks = (Task("broken", lambda s: 1, broken), task("nonces"))
    worker = CleanupWorker(make_env().env, tasks=tasks, clock=lambda: 0.0)
    errors = REGISTRY.get_sample_value("acmeeh_cleanup_errors_total", {"task": "broken"}) or 0.0
    assert worker.tick() == {"broken": -1, "nonces": 0}
    assert REGISTRY.get_sample_value("acmeeh_cleanup_errors_total", {"task": "broken"}) == errors + 1
