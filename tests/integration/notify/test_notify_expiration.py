"""Expiration warnings: thresholds, once per certificate per threshold across runs, concurrent
runs and two leader loops; what is skipped; the warning mail itself; the error metric."""
from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from notify_support import WAIT_SECONDS, smtp_overrides, whole_second_clock
from prometheus_client import REGISTRY

from acmeeh.authority import expiration
from acmeeh.store import outbox
from acmeeh.workers import expiration as expiration_worker
from acmeeh.workers.delivery import Deliverer
from acmeeh.workers.loop import LeaderLoop

pytestmark = pytest.mark.usefixtures("empty_outbox")
ON = {"notifications": {"enabled": True, "expiration_warning_days": [30, 14, 7, 1]}}


def sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def outbox_rows(env, kind: str = "expiration_warning") -> list[outbox.NotificationRow]:
    with env.pool.connection() as conn:
        return outbox.list_notifications(conn, kind=kind, limit=1000)


def notice_days(env, cert_id) -> list[int]:
    with env.pool.connection() as conn:
        rows = conn.execute(
            "SELECT threshold_days FROM certificate_expiration_notices"
            " WHERE certificate_id = %s ORDER BY threshold_days DESC", (cert_id,)).fetchall()
        return [int(d) for (d,) in rows]


@pytest.mark.parametrize(
    ("left", "recorded", "warned_at", "days_left"),
    [
        (timedelta(days=45), [], None, None),
        (timedelta(days=30, seconds=1), [], None, None),
        (timedelta(days=30), [30], 30, 30),
        (timedelta(days=20), [30], 30, 20),
        (timedelta(days=10), [30, 14], 14, 10),
        (timedelta(days=5), [30, 14, 7], 7, 5),
        (timedelta(hours=12), [30, 14, 7, 1], 1, 1),
        (timedelta(seconds=-1), [], None, None),
    ],
    ids=["45d", "just-over-30d", "30d", "20d", "10d", "5d", "12h", "expired"],
)
def test_thresholds(make_env, seed, left: timedelta, recorded: list[int], warned_at: int | None,
                    days_left: int | None) -> None:
    env = make_env(ON)
    cert = seed.certificate(seed.account(), not_after=env.clock() + left)
    report = expiration.warn_expiring(env)
    assert notice_days(env, cert.id) == recorded
    rows = outbox_rows(env)
    if warned_at is None:
        assert rows == [] and report.warnings == 0
        return
    (row,) = rows  # only the most urgent crossed threshold is warned about
    assert (row.context["threshold_days"], row.context["days_left"]) == (warned_at, days_left)
    assert row.context["serial"] == cert.serial and row.recipient == "owner@example.test"


def test_each_threshold_once_as_time_passes(make_env, seed) -> None:
    clock = whole_second_clock()
    env = make_env(ON, clock)
    account = seed.account(["mailto:a@example.test", "mailto:b@example.test"])
    cert = seed.certificate(account, not_after=clock.now + timedelta(days=40))
    warned: list[int] = []
    for day in range(41):  # one run (twice, as after a restart) per simulated day
        for _ in range(2):
            expiration.warn_expiring(env)
        clock.advance(days=1)
        warned = sorted({r.context["threshold_days"] for r in outbox_rows(env)}, reverse=True)
    assert warned == [30, 14, 7, 1]
    assert len(outbox_rows(env)) == 8  # 4 thresholds × 2 contacts
    assert notice_days(env, cert.id) == [30, 14, 7, 1]


@pytest.mark.parametrize("case", ["revoked", "deactivated", "no-contact", "tel-only", "disabled"])
def test_nothing_for_whom_there_is_nothing_to_say(make_env, seed, case: str) -> None:
    env = make_env({"notifications": {"enabled": case != "disabled"}})
    contact = {"no-contact": [], "tel-only": ["tel:+15555550100"]}.get(case)
    account = seed.account(contact, status="deactivated" if case == "deactivated" else "valid")
    cert = seed.certificate(account, not_after=env.clock() + timedelta(days=3), revoked=case == "revoked")
    report = expiration.warn_expiring(env)
    assert outbox_rows(env) == [] and notice_days(env, cert.id) == [] and report.checked == 0


def test_batches_cover_everything(make_env, seed) -> None:
    env = make_env({"notifications": {"batch_size": 2}})
    account = seed.account()
    for n in range(5):
        seed.certificate(account, not_after=env.clock() + timedelta(days=2, hours=n))
    report = expiration.warn_expiring(env)
    assert (report.checked, report.warnings) == (5, 5)
    assert expiration.warn_expiring(env).checked == 0


def test_concurrent_runs_warn_once(make_env, seed) -> None:
    env = make_env(ON)
    account = seed.account()
    certs = [seed.certificate(account, not_after=env.clock() + timedelta(days=3, minutes=n))
             for n in range(20)]
    barrier = threading.Barrier(3, timeout=10)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            for _ in range(3):
                expiration.warn_expiring(env)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    for cert in certs:
        assert notice_days(env, cert.id) == [30, 14, 7]
    assert sorted(r.context["serial"] for r in outbox_rows(env)) == sorted(c.serial for c in certs)


def test_two_leader_loops_one_leader_one_warning(make_env, seed, db_url: str) -> None:
    env = make_env(ON)
    cert = seed.certificate(seed.account(), not_after=env.clock() + timedelta(days=6))
    loops = [LeaderLoop(f"expiration-{n}", 712002, 0.1, expiration_worker.make_tick(env), conninfo=db_url)
             for n in range(2)]
    for loop in loops:
        loop.start()
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline and sum(loop.ticks for loop in loops) < 5:
            time.sleep(0.05)
        assert sorted(loop.is_leader for loop in loops) == [False, True]
    finally:
        for loop in loops:
            loop.stop(timeout=10)
    assert sum(loop.ticks for loop in loops) >= 5
    assert [loop.ticks > 0 for loop in loops].count(True) == 1
    assert notice_days(env, cert.id) == [30, 14, 7]
    assert len(outbox_rows(env)) == 1


def test_warning_mail_and_metric(make_env, seed, smtp) -> None:
    env = make_env({**smtp_overrides(smtp.port), **ON})
    cert = seed.certificate(seed.account(), not_after=env.clock() + timedelta(days=6, hours=1),
                            names=["shop.example.test"])
    before = sample("acmeeh_expiration_warnings_sent_total")
    assert expiration_worker.make_tick(env)() == 1
    assert sample("acmeeh_expiration_warnings_sent_total") == before  # counted when delivered
    assert Deliverer(env).tick() == 1
    (mail,) = smtp.inbox.wait_for(1)
    assert mail.message["Subject"] == "Certificate for shop.example.test expires in 7 days"
    body = mail.message.get_content()
    assert cert.serial in body and cert.not_after.strftime("%Y-%m-%d %H:%M:%S UTC") in body
    assert sample("acmeeh_expiration_warnings_sent_total") == before + 1


class BrokenPool:
    def connection(self) -> Any:
        raise RuntimeError("database unavailable")


def test_errors_are_counted_and_raised(make_env) -> None:
    env = make_env(ON)
    broken = type(env)(**{**env.__dict__, "pool": BrokenPool()})
    before = sample("acmeeh_expiration_worker_errors_total")
    with pytest.raises(RuntimeError):
        expiration_worker.make_tick(broken)()
    assert sample("acmeeh_expiration_worker_errors_total") == before + 1
