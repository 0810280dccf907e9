"""The operators' gauges, in process on a real database: the CA backend check, the CRL's time to
nextUpdate and age, the expiry backlog (set at scrape time) and the pool (sampled per process).
Time moves by an injected clock; the CA, the CRL and the pool are real. Multi-worker summing
under gunicorn: tests/e2e/test_monitoring_names.py."""
from __future__ import annotations

import dataclasses
import json
import math
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from flask import Flask
from prometheus_client import REGISTRY
from psycopg_pool import PoolTimeout

from acmeeh.issuance import load_backend
from acmeeh.web import gauges
from acmeeh.workers.pool_gauges import PoolSampler


def value(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def moved(app: Flask, days: float, *, crl: bool = True) -> tuple[object, datetime]:
    """The app's env with its clock (and its CA backend's) `days` ahead."""
    env = app.web.env
    now = [datetime.now(UTC)]  # the backend loads at today's date, then time moves on
    settings = dataclasses.replace(env.settings,
                                   crl=dataclasses.replace(env.settings.crl, enabled=crl))
    ca = load_backend(settings.ca, clock=lambda: now[0])
    today = now[0]
    now[0] += timedelta(days=days)
    return dataclasses.replace(env, settings=settings, clock=lambda: now[0], ca=ca), today


def test_scrape_sets_the_gauges(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    client = app.test_client()
    assert client.get("/crl").status_code == 200  # a CRL exists (next_update_seconds: 1 day)
    text = client.get("/metrics").get_data(as_text=True)
    assert "acmeeh_ca_backend_up 1.0" in text
    assert 86000 < value("acmeeh_crl_next_update_seconds") <= 86400
    assert 0 <= value("acmeeh_crl_age_seconds") < 300
    for kind in ("orders", "authorizations"):
        assert f'acmeeh_expiry_backlog{{kind="{kind}"}} ' in text
        assert f'acmeeh_expiry_backlog_oldest_seconds{{kind="{kind}"}} ' in text


@pytest.mark.parametrize(("days", "crl", "ca_up", "next_update", "age"), [
    (0.5, True, 1, (43000, 43300), (43000, 43500)),  # half a day on: half a day left
    (2, True, 1, (-86600, -86300), (172700, 173000)),  # stale for a day: negative
    (2, False, 1, None, None),  # CRL disabled: unknown, never "stale"
    (365 * 30, True, 0, None, None),  # the CA certificate expired: the check fails
])
def test_time_moves(make_app: Callable[..., Flask], days: float, crl: bool, ca_up: int,
                    next_update: tuple[int, int] | None, age: tuple[int, int] | None) -> None:
    app = make_app()
    app.test_client().get("/crl")
    env, _ = moved(app, days, crl=crl)
    gauges.refresh(env)
    assert value("acmeeh_ca_backend_up") == ca_up
    for name, bounds in (("acmeeh_crl_next_update_seconds", next_update),
                         ("acmeeh_crl_age_seconds", age)):
        if bounds is None:
            if not crl:
                assert math.isnan(value(name))
        else:
            assert bounds[0] < value(name) < bounds[1], name


def test_a_crl_never_built_is_minus_infinity(make_app: Callable[..., Flask], ops_db: str) -> None:
    app = make_app()
    with psycopg.connect(ops_db, autocommit=True) as conn:
        conn.execute("DELETE FROM crls")
    gauges.refresh(app.web.env)
    assert value("acmeeh_crl_next_update_seconds") == -math.inf
    assert math.isnan(value("acmeeh_crl_age_seconds"))


def _open_objects(db_url: str, expires: datetime) -> None:
    """One pending order and one pending authorization expiring at `expires` (plain SQL)."""
    account = uuid.uuid4()
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO accounts (id, jwk, thumbprint, status) VALUES (%s, %s, %s,"
                     " 'valid')", (account, json.dumps({"kty": "EC"}), account.hex))
        conn.execute("INSERT INTO orders (id, account_id, status, identifiers, expires) VALUES"
                     " (%s, %s, 'pending', '[]', %s)", (uuid.uuid4(), account, expires))
        conn.execute("INSERT INTO authorizations (id, account_id, identifier_type,"
                     " identifier_value, status, expires) VALUES (%s, %s, 'dns', 'b.example',"
                     " 'pending', %s)", (uuid.uuid4(), account, expires))


def test_expiry_backlog(make_app: Callable[..., Flask], ops_db: str) -> None:
    app = make_app()
    now = datetime.now(UTC)
    _open_objects(ops_db, now + timedelta(hours=1))
    _open_objects(ops_db, now + timedelta(hours=3))
    counts = {}
    for hours in (0.5, 2, 5):  # before, after one, after both expired (cleanup not running)
        env, _ = moved(app, hours / 24)
        gauges.refresh(env)
        counts[hours] = [(value("acmeeh_expiry_backlog", kind=k),
                          value("acmeeh_expiry_backlog_oldest_seconds", kind=k))
                         for k in ("orders", "authorizations")]
    assert counts[0.5] == [(0, 0), (0, 0)]
    for kind in range(2):
        count, oldest = counts[2][kind]
        assert count == 1 and 3500 < oldest < 3700
        count, oldest = counts[5][kind]
        assert count == 2 and 4 * 3600 - 100 < oldest < 4 * 3600 + 100


def test_pool_sampler_counts_use_waits_and_timeouts(make_app: Callable[..., Flask]) -> None:
    app = make_app({"database": {"min_connections": 1, "max_connections": 1}})
    pool = app.web.env.pool  # no background loops: only this test uses it
    sampler = PoolSampler(pool)
    try:
        assert sampler.sample().in_use == 0  # counts what the pool saw since it opened
        before = value("acmeeh_db_pool_timeouts_total")
        waits_before = value("acmeeh_db_pool_waits_total")
        assert value("acmeeh_db_pool_connections_max") == 1
        with pool.connection():
            assert sampler.sample().in_use == 1
            assert value("acmeeh_db_pool_connections_in_use") == 1
            failed = threading.Event()

            def starved() -> None:  # the only connection is taken: wait 0.2 s, give up
                try:
                    with pool.connection(timeout=0.2):
                        pass
                except PoolTimeout:
                    failed.set()
            worker = threading.Thread(target=starved)
            worker.start()
            worker.join(5)
            assert failed.is_set()
        usage = sampler.sample()
        assert usage.in_use == 0 and usage.timeouts == 1
        assert value("acmeeh_db_pool_timeouts_total") == before + 1
        assert value("acmeeh_db_pool_waits_total") == waits_before + 1
        assert value("acmeeh_db_pool_wait_seconds_total") > 0
        assert value("acmeeh_db_pool_connections_in_use") == 0
    finally:
        sampler.stop()
