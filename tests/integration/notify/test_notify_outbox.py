"""The outbox and its delivery worker on a real PostgreSQL and a real SMTP server on 127.0.0.1:
what gets recorded under which settings, retries with backoff on an injected clock, abandonment,
FOR UPDATE SKIP LOCKED between concurrent deliverers."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from notify_support import SENDER, Inbox, smtp_overrides, whole_second_clock
from prometheus_client import REGISTRY
from support.dns import free_port

from acmeeh.authority import events, notifications
from acmeeh.notify import Kind
from acmeeh.store import outbox
from acmeeh.workers.delivery import Deliverer

pytestmark = pytest.mark.usefixtures("empty_outbox")


def sent_total(kind: str) -> float:
    return REGISTRY.get_sample_value("acmeeh_notifications_sent_total", {"kind": kind}) or 0.0


def enqueue(env, contacts: list[str], kind: Kind = Kind.CERTIFICATE_ISSUED, **context: Any) -> int:
    context = {"serial": "0abc", "names": ["a.example.test"], "not_before": env.clock(),
               "not_after": env.clock() + timedelta(days=90), **context}
    with env.pool.connection() as conn, conn.transaction():
        return notifications.enqueue(conn, env, kind, contacts, context)


def rows(env) -> list[outbox.NotificationRow]:
    with env.pool.connection() as conn:
        return sorted(outbox.list_notifications(conn, limit=1000), key=lambda r: r.recipient)


# --- what is recorded ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("notify_enabled", "smtp_enabled", "expected"),
    [(False, True, []), (False, False, []), (True, False, ["skipped", "skipped"]),
     (True, True, ["pending", "pending"])],
    ids=["notifications-off", "all-off", "smtp-off", "on"],
)
def test_what_is_recorded(make_env, notify_enabled: bool, smtp_enabled: bool, expected: list) -> None:
    env = make_env({"notifications": {"enabled": notify_enabled},
                    "smtp": {"enabled": smtp_enabled, "from_address": SENDER}})
    contacts = ["mailto:a@example.test", "MAILTO:b@example.test", "mailto:a@example.test"]
    assert enqueue(env, contacts) == len(expected)
    assert [r.status for r in rows(env)] == expected
    if expected:
        first = rows(env)[0]
        assert first.recipient == "a@example.test" and first.kind == "certificate_issued"
        assert datetime.fromisoformat(first.context["not_after"]) == env.clock() + timedelta(days=90)


@pytest.mark.parametrize("contacts", [[], ["tel:+15555550100"], ["mailto:"]], ids=["none", "tel", "empty"])
def test_nobody_to_tell_records_nothing(make_env, smtp, contacts: list[str]) -> None:
    env = make_env(smtp_overrides(smtp.port))
    assert enqueue(env, contacts) == 0
    assert rows(env) == []


def test_rows_share_the_callers_transaction(make_env, smtp) -> None:
    env = make_env(smtp_overrides(smtp.port))
    with pytest.raises(RuntimeError), env.pool.connection() as conn, conn.transaction():
        notifications.enqueue(conn, env, Kind.ACCOUNT_DEACTIVATED, ["mailto:a@example.test"],
                              {"account_id": "x", "deactivated_at": env.clock()})
        raise RuntimeError("the event's transaction rolls back")
    assert rows(env) == []


def test_unknown_kind_is_a_programming_error(make_env) -> None:
    env = make_env()
    with pytest.raises(ValueError), env.pool.connection() as conn:
        notifications.enqueue(conn, env, "party_invitation", ["mailto:a@example.test"], {})


# --- backoff ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("attempts", "delay"),
    [(1, 60), (2, 120), (3, 240), (4, 300), (5, None), (9, None)],
)
def test_retry_schedule(make_env, attempts: int, delay: int | None) -> None:
    settings = make_env({"notifications": {"max_retries": 4, "retry_delay_seconds": 60,
                                           "retry_backoff_multiplier": 2.0,
                                           "retry_max_delay_seconds": 300}}).settings.notifications
    now = whole_second_clock().now
    expected = None if delay is None else now + timedelta(seconds=delay)
    assert notifications.retry_at(settings, attempts, now) == expected


# --- delivery --------------------------------------------------------------------------------
def test_delivered_mail_is_the_rendered_template(make_env, smtp, seed) -> None:
    env = make_env(smtp_overrides(smtp.port))
    account = seed.account(["mailto:owner@example.test", "mailto:ops@example.test"])
    cert = seed.certificate(account, not_after=env.clock() + timedelta(days=90), names=["www.example.test"])
    before = sent_total("certificate_issued")
    with env.pool.connection() as conn, conn.transaction():
        events.certificate_issued(conn, env, account, cert)
    assert Deliverer(env).tick() == 2
    received = sorted(smtp.inbox.wait_for(2), key=lambda m: m.rcpt_tos)
    assert [m.rcpt_tos for m in received] == [["ops@example.test"], ["owner@example.test"]]
    mail = received[1].message
    assert mail["From"] == SENDER and mail["To"] == "owner@example.test"
    assert mail["Subject"] == "Certificate issued for www.example.test"
    body = mail.get_content()
    assert cert.serial in body and cert.not_after.strftime("%Y-%m-%d %H:%M:%S UTC") in body
    assert [(r.status, r.attempts, r.sent_at) for r in rows(env)] == [("sent", 1, env.clock())] * 2
    assert sent_total("certificate_issued") == before + 2
    assert Deliverer(env).tick() == 0  # nothing is sent twice


def test_refusing_server_then_success_with_backoff(make_env, smtp_factory) -> None:
    smtp = smtp_factory(Inbox(refuse_first=2, refuse_reply="451 4.3.0 Mailbox busy"))
    clock = whole_second_clock()
    env = make_env({**smtp_overrides(smtp.port), "notifications": {
        "max_retries": 3, "retry_delay_seconds": 60, "retry_backoff_multiplier": 2.0,
        "retry_max_delay_seconds": 100}}, clock)
    enqueue(env, ["mailto:a@example.test"])
    deliverer = Deliverer(env)
    t0 = clock.now

    assert deliverer.tick() == 0
    (row,) = rows(env)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 1, t0 + timedelta(seconds=60))
    assert "451" in row.last_error

    clock.advance(seconds=59)
    assert deliverer.tick() == 0 and smtp.inbox.refused == 1  # not due yet: no attempt
    clock.advance(seconds=1)
    assert deliverer.tick() == 0
    (row,) = rows(env)  # second delay 120 s, capped at retry_max_delay 100 s
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 2, clock.now + timedelta(seconds=100))

    clock.advance(seconds=100)
    assert deliverer.tick() == 1
    (row,) = rows(env)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
    assert len(smtp.inbox.wait_for(1)) == 1


def test_abandoned_after_max_retries(make_env, smtp_factory) -> None:
    smtp = smtp_factory(Inbox(refuse_first=100, refuse_reply="554 5.7.1 No"))
    clock = whole_second_clock()
    env = make_env({**smtp_overrides(smtp.port), "notifications": {
        "max_retries": 1, "retry_delay_seconds": 10}}, clock)
    enqueue(env, ["mailto:a@example.test"])
    deliverer = Deliverer(env)
    for _ in range(4):
        deliverer.tick()
        clock.advance(hours=2)
    (row,) = rows(env)
    assert (row.status, row.attempts) == ("abandoned", 2)
    assert smtp.inbox.refused == 2 and smtp.inbox.messages == []


def test_smtp_disabled_records_but_never_sends(make_env, smtp) -> None:
    recording = make_env({"smtp": {"enabled": False, "from_address": SENDER}})
    enqueue(recording, ["mailto:a@example.test"])
    sending = make_env(smtp_overrides(smtp.port))  # even a deliverer pointed at a live server
    assert Deliverer(sending).tick() == 0
    assert [r.status for r in rows(sending)] == ["skipped"] and smtp.inbox.messages == []


def test_down_server_fails_one_row_and_stops_the_batch(make_env) -> None:
    env = make_env(smtp_overrides(free_port()))
    enqueue(env, ["mailto:a@example.test", "mailto:b@example.test", "mailto:c@example.test"])
    assert Deliverer(env).tick() == 0
    assert sorted((r.status, r.attempts) for r in rows(env)) == [
        ("failed", 1), ("pending", 0), ("pending", 0)]


def test_a_template_error_fails_only_its_row(make_env, smtp) -> None:
    env = make_env(smtp_overrides(smtp.port))
    enqueue(env, ["mailto:a@example.test"], Kind.EXPIRATION_WARNING)  # lacks days_left
    enqueue(env, ["mailto:b@example.test"])
    assert Deliverer(env).tick() == 1
    bad, good = rows(env)
    assert (bad.status, good.status) == ("failed", "sent")
    assert "UndefinedError" in bad.last_error and "days_left" in bad.last_error


def test_locked_rows_are_skipped(make_env, smtp) -> None:
    env = make_env(smtp_overrides(smtp.port))
    enqueue(env, [f"mailto:u{n}@example.test" for n in range(4)])
    with env.pool.connection() as other, other.transaction():
        held = outbox.claim_due(other, env.clock(), 2)  # another instance is sending these
        assert Deliverer(env).tick() == 2
        assert len(smtp.inbox.messages) == 2
    assert {m.rcpt_tos[0] for m in smtp.inbox.messages}.isdisjoint(r.recipient for r in held)
    assert Deliverer(env).tick() == 2
    assert len(smtp.inbox.wait_for(4)) == 4


def test_concurrent_deliverers_send_each_mail_once(make_env, smtp_factory) -> None:
    smtp = smtp_factory(Inbox(delay=0.01))
    env = make_env({**smtp_overrides(smtp.port), "notifications": {"batch_size": 4}})
    total = 40
    enqueue(env, [f"mailto:u{n:02d}@example.test" for n in range(total)])
    deliverers = [Deliverer(env), Deliverer(env)]
    barrier, counts = threading.Barrier(2, timeout=10), [0, 0]

    def run(i: int) -> None:
        barrier.wait()
        for _ in range(10):  # bounded: each tick sends at most 10 batches
            counts[i] += deliverers[i].tick()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    received = smtp.inbox.wait_for(total)
    assert sum(counts) == total and len(received) == total
    assert len({m.message["Message-ID"] for m in received}) == total
    assert sorted(r for m in received for r in m.rcpt_tos) == [f"u{n:02d}@example.test" for n in range(total)]
    assert all(c > 0 for c in counts), counts  # both really worked in parallel
    assert {r.status for r in rows(env)} == {"sent"}


def test_missing_from_address_fails_at_start(make_env, smtp) -> None:
    env = make_env({"smtp": {"enabled": True, "port": smtp.port, "use_tls": False}})
    with pytest.raises(ValueError, match="smtp.from_address"):
        Deliverer(env)
