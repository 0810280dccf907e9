"""Webhook outbox and delivery at the authority level, with a settable clock and a real
receiver on loopback: rows exist exactly when the event committed, backoff then dead letters,
a receiver that is down postpones its other deliveries, the network policy at delivery time,
and certificate.expiring for accounts nobody can mail."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from support.webhook_receiver import Receiver

from acmeeh.authority import expiration, webhooks
from acmeeh.notify.webhook import SIGNATURE_HEADER, verify
from acmeeh.store import webhooks as store
from acmeeh.store.paging import Page
from acmeeh.workers.webhooks import Deliverer

pytestmark = pytest.mark.usefixtures("empty_outbox", "no_webhooks")
LOOPBACK = {"webhooks": {"allowed_networks": ["127.0.0.0/8"], "max_attempts": 3,
                         "retry_delay_seconds": 10, "retry_backoff_multiplier": 3,
                         "retry_max_delay_seconds": 60, "timeout_seconds": 2}}


@pytest.fixture
def no_webhooks(pool) -> None:  # noqa: ANN001
    with pool.connection() as conn:
        conn.execute("DELETE FROM webhooks")


def rows(env, hook_id) -> list[store.DeliveryRow]:  # noqa: ANN001
    with env.pool.connection() as conn:
        return store.list_deliveries(conn, Page(100), webhook_id=hook_id)


def emit(env, event: str = "maintenance.changed", data: dict | None = None) -> int:  # noqa: ANN001
    with env.pool.connection() as conn, conn.transaction():
        return webhooks.emit(conn, env, event, data or {"enabled": True})


@pytest.mark.parametrize(("attempts", "delay"), [(1, 10), (2, 30), (3, None)])
def test_backoff_then_dead(make_env, attempts: int, delay: int | None) -> None:
    env = make_env(LOOPBACK)
    now = env.clock()
    expected = None if delay is None else now + timedelta(seconds=delay)
    assert webhooks.retry_at(env.settings.webhooks, attempts, now) == expected


def test_recorded_only_with_the_event_and_only_for_subscribers(make_env) -> None:
    env = make_env(LOOPBACK)
    hook = webhooks.create(env, url="http://127.0.0.1:9/x", events=["maintenance.changed"],
                           description="", created_by="t")
    other = webhooks.create(env, url="http://127.0.0.1:9/y", events=["account.created"],
                            description="", created_by="t")
    paused = webhooks.create(env, url="http://127.0.0.1:9/z", events=["maintenance.changed"],
                             description="", created_by="t")
    webhooks.update(env, paused.id, enabled=False)
    with pytest.raises(RuntimeError), env.pool.connection() as conn, conn.transaction():
        webhooks.emit(conn, env, "maintenance.changed", {"enabled": True})
        raise RuntimeError("the event rolls back")
    assert rows(env, hook.id) == []
    assert emit(env) == 1
    assert [r.status for r in rows(env, hook.id)] == ["pending"]
    assert rows(env, other.id) == [] and rows(env, paused.id) == []
    assert emit(make_env({**LOOPBACK, "webhooks": {"enabled": False}})) == 0
    with pytest.raises(ValueError):
        emit(env, "certificate.exploded")


def test_down_receiver_backoff_dead_and_back(make_env) -> None:
    env = make_env(LOOPBACK)
    receiver = Receiver()
    hook = webhooks.create(env, url=receiver.url, events=["maintenance.changed"],
                           description="", created_by="t")
    assert emit(env) == 1 and emit(env) == 1
    deliverer = Deliverer(env)
    assert deliverer.tick() == 0  # nobody listens
    first, second = sorted(rows(env, hook.id), key=lambda r: r.attempts, reverse=True)
    assert (first.status, first.attempts) == ("failed", 1)
    assert "refused" in (first.last_error or "").lower()
    # The other delivery waits for the same retry, without an attempt of its own.
    assert (second.status, second.attempts) == ("pending", 0)
    assert second.next_attempt_at == first.next_attempt_at == env.clock() + timedelta(seconds=10)
    assert deliverer.tick() == 0  # not due yet
    env.clock.advance(seconds=10)
    deliverer.tick()
    env.clock.advance(seconds=30)
    deliverer.tick()
    dead = [r for r in rows(env, hook.id) if r.status == "dead"]
    assert dead and dead[0].attempts == 3
    receiver.start()
    try:
        env.clock.advance(seconds=60)
        assert deliverer.tick() >= 1  # the postponed one, now that the receiver is back
        webhooks.retry(env, dead[0].id)
        assert deliverer.tick() == 1
        assert {r.status for r in rows(env, hook.id)} == {"delivered"}
        got = receiver.events()
        assert len(got) == 2 and all(verify(hook.secret, r.headers[SIGNATURE_HEADER], r.body)
                                     for r in got)
    finally:
        receiver.stop()


def test_policy_is_checked_at_delivery(make_env) -> None:
    """A host name is judged by the address it resolves to when the delivery goes out."""
    env = make_env({"webhooks": {"timeout_seconds": 2}})  # default policy: no loopback
    with Receiver() as receiver:
        url = receiver.url.replace("127.0.0.1", "localhost")
        hook = webhooks.create(env, url=url, events=["maintenance.changed"], description="",
                               created_by="t")
        emit(env)
        assert Deliverer(env).tick() == 0
        (row,) = rows(env, hook.id)
        assert row.status == "failed" and "not allowed (loopback)" in (row.last_error or "")
        assert receiver.events() == []


def test_expiring_for_accounts_without_mail(make_env, seed) -> None:
    env = make_env({**LOOPBACK, "notifications": {"enabled": False,
                                                  "expiration_warning_days": [7]}})
    account = seed.account([])  # no contact: nobody to mail, the webhook still hears
    cert = seed.certificate(account, not_after=env.clock() + timedelta(days=3))
    assert expiration.warn_expiring(env).notices == 0  # no webhook yet: nothing at all
    hook = webhooks.create(env, url="http://127.0.0.1:9/x", events=["certificate.expiring"],
                           description="", created_by="t")
    report = expiration.warn_expiring(env)
    assert report.warnings == 1 and report.notices == 1
    (row,) = rows(env, hook.id)
    assert row.event == "certificate.expiring"
    data = row.payload["data"]
    assert data["certificate_id"] == str(cert.id) and data["account_id"] == str(account.id)
    assert data["days_left"] == 3 and data["threshold_days"] == 7
    assert expiration.warn_expiring(env).notices == 0  # once per threshold


def test_retry_refusals(make_env) -> None:
    env = make_env(LOOPBACK)
    hook = webhooks.create(env, url="http://127.0.0.1:9/x", events=["maintenance.changed"],
                           description="", created_by="t")
    emit(env)
    (row,) = rows(env, hook.id)
    with pytest.raises(Exception, match="pending"):
        webhooks.retry(env, row.id)
    with pytest.raises(Exception, match="no such"):
        webhooks.retry(env, uuid.uuid4())
