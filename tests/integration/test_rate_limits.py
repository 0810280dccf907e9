"""Rate limits (security.rate_limits) on a real PostgreSQL: each limit lets N through and
answers the next with rateLimited (429, Retry-After, RFC 8555 §6.6) without counting it; two
instances (gunicorn processes) on one database share the counters; windows end; exempt networks
and the disabled switch lift every limit (apps served in process); the cleanup task deletes
ended windows."""

from __future__ import annotations

import itertools
import math
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import psycopg
import pytest
from psycopg_pool import ConnectionPool
from support.acme_client import (
    ERROR_PREFIX,
    AcmeClient,
    Http01Responder,
    expect,
    make_csr,
    problem_type,
)
from support.database import fresh_database, server_url
from support.inprocess import app_on_new_database
from support.server import RunningServer, deep_merge, start_server, worker_id
from support.wsgi import BASE_URL, DIRECTORY, in_process_session

from acmeeh.authority import ratelimits
from acmeeh.authority.env import Env
from acmeeh.config.load import ConfigError, settings_from_dict
from acmeeh.protocol.identifiers import normalize
from acmeeh.protocol.problems import Problem
from acmeeh.store import migrate
from acmeeh.workers.cleanup import TASKS, CleanupWorker

RATE_LIMITED = ERROR_PREFIX + "rateLimited"
HOUR = 3600
ORDERS = 3  # new_orders_per_account on the shared pair
FAILURES = 2  # failed_validations_per_account_per_name on the shared pair
LIMITS = {
    "security": {
        "rate_limits": {
            "enabled": True,
            "new_orders_per_account": {"count": ORDERS, "window_seconds": HOUR},
            "certificates_per_account": {"count": 1, "window_seconds": HOUR},
            "failed_validations_per_account_per_name": {"count": FAILURES, "window_seconds": HOUR},
        }
    }
}
_n = itertools.count()


def name() -> str:
    return f"rl-{uuid.uuid4().hex[:10]}.localhost"


def counters(database_url: str, limit: str) -> dict[str, int]:
    """key → count of the live windows of one limit."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT key, sum(count) FROM rate_limit_counters WHERE name = %s"
            " AND expires_at > now() GROUP BY key",
            (limit,),
        ).fetchall()
    return {key: int(total) for key, total in rows}


def account_id(client: AcmeClient) -> str:
    return client.kid.rsplit("/", 1)[1]


def assert_limited(response, limit: str, *, max_wait: int) -> int:
    """A rateLimited problem naming `limit` with 0 < Retry-After <= max_wait; the wait."""
    assert response.status_code == 429, response.text
    assert problem_type(response) == RATE_LIMITED
    assert limit in response.json()["detail"]
    wait = int(response.headers["Retry-After"])
    assert 0 < wait <= max_wait
    return wait


# --- two instances on one database ------------------------------------------------------------
@pytest.fixture(scope="module")
def pair(tmp_path_factory, dns_server) -> Iterator[list[RunningServer]]:
    """Two instances (one gunicorn worker each) on the first one's database and http-01 port."""
    root = tmp_path_factory.mktemp("rate_limits")
    first = start_server(root / "a", overrides=LIMITS, workers=1, dns=dns_server)
    servers = [first]
    try:
        servers.append(
            start_server(
                root / "b",
                workers=1,
                dns=dns_server,
                overrides=deep_merge(
                    LIMITS,
                    {
                        "database": {"url": first.database_url},
                        "challenges": {"http01": {"port": first.http01_port}},
                    },
                ),
            )
        )
        yield servers
    finally:
        for server in reversed(servers):  # the first owns the database: drop it last
            server.stop()


def test_orders_per_account(pair: list[RunningServer]) -> None:
    a, b = AcmeClient(pair[0].directory_url), AcmeClient(pair[0].directory_url)
    expect(a.new_account(), 201)
    expect(b.new_account(), 201)
    for _ in range(ORDERS):
        expect(a.new_order([name()]), 201)
    for _ in range(2):  # refused attempts are not counted
        assert_limited(a.new_order([name()]), "new_orders_per_account", max_wait=HOUR)
    assert counters(pair[0].database_url, "new_orders_per_account")[account_id(a)] == ORDERS
    expect(b.new_order([name()]), 201)  # another account is not affected


def test_instances_share_counters(pair: list[RunningServer]) -> None:
    on_a = AcmeClient(pair[0].directory_url)
    expect(on_a.new_account(), 201)
    on_b = AcmeClient(pair[1].directory_url, key=on_a.key)
    expect(on_b.new_account(), 200)  # the same account, seen through the other instance
    for client in (on_a, on_b, on_a):
        expect(client.new_order([name()]), 201)
    for client in (on_b, on_a):
        assert_limited(client.new_order([name()]), "new_orders_per_account", max_wait=HOUR)


def test_certificates_per_account(pair: list[RunningServer]) -> None:
    client = AcmeClient(pair[0].directory_url)
    expect(client.new_account(), 201)
    names = [name()]
    with Http01Responder(pair[0].http01_port) as http01:
        client.obtain_certificate(names, http01=http01)
        order = expect(client.new_order(names), 201)  # its authorization is reused: ready
        assert order.json()["status"] == "ready"
    csr, _key = make_csr(names)
    assert_limited(client.finalize(order.json(), csr), "certificates_per_account", max_wait=HOUR)
    again = expect(client.post(order.headers["Location"]), 200).json()
    assert again["status"] == "ready"  # refused before signing: the order did not move


def test_failed_validations_per_name(pair: list[RunningServer]) -> None:
    client = AcmeClient(pair[1].directory_url)
    expect(client.new_account(), 201)
    failing = name()
    for _ in range(FAILURES):  # nothing answers http-01: validation fails
        order = expect(client.new_order([failing]), 201).json()
        authz = expect(client.get_authz(order["authorizations"][0]), 200).json()
        chall = next(c for c in authz["challenges"] if c["type"] == "http-01")
        expect(client.respond(chall["url"]), 200)
        final = client.poll(order["authorizations"][0], {"valid", "invalid"}, timeout=15)
        assert final.json()["status"] == "invalid"
    refused = client.new_order([name(), failing])
    assert_limited(refused, "failed_validations_per_account_per_name", max_wait=HOUR)
    assert failing in refused.json()["detail"]
    expect(client.new_order([name()]), 201)  # other names go; the refused order was not counted
    assert counters(pair[0].database_url, "new_orders_per_account")[account_id(client)] == FAILURES + 1


# --- one app per configuration, in process (support.wsgi; the test client is 127.0.0.1) ---------
@contextmanager
def served(tmp_path, overrides: dict) -> Iterator[tuple[Callable[[], AcmeClient], str]]:
    """(new_client, database URL) of an app with `overrides` on a database of its own."""
    with app_on_new_database(tmp_path, "rate_limits", overrides) as (app, url):
        yield (lambda: AcmeClient(DIRECTORY, session=in_process_session(app, BASE_URL))), url


def test_accounts_per_ip_and_window_expiry(tmp_path) -> None:
    window = 4
    with served(
        tmp_path,
        {
            "security": {
                "rate_limits": {
                    "enabled": True,
                    "new_accounts_per_ip": {"count": 2, "window_seconds": window},
                }
            }
        },
    ) as (new_client, database_url):
        for _attempt in range(3):  # bounded: retried only if a slow machine crossed a window
            time.sleep(window - time.time() % window + 0.05)  # start at the beginning of a window
            started = time.time()
            for _ in range(2):
                expect(new_client().new_account(), 201)
            late = new_client()
            third = late.new_account()
            if time.time() // window == started // window:
                break
        wait = assert_limited(third, "new_accounts_per_ip", max_wait=window)
        # the refusal is not counted
        assert counters(database_url, "new_accounts_per_ip") == {"127.0.0.1": 2}
        time.sleep(wait)  # Retry-After is rounded up: the window has ended by then
        expect(late.new_account(), 201)


@pytest.mark.parametrize(
    "rate_limits",
    [
        {"enabled": True, "exempt_networks": ["127.0.0.0/8", "::1/128"]},
        {"enabled": False},
    ],
    ids=["exempt-network", "disabled"],
)
def test_no_limits(tmp_path, rate_limits: dict) -> None:
    one = {"count": 1, "window_seconds": HOUR}
    with served(
        tmp_path,
        {
            "security": {
                "rate_limits": {
                    **rate_limits,
                    "new_accounts_per_ip": one,
                    "new_orders_per_account": one,
                }
            }
        },
    ) as (new_client, database_url):
        for _ in range(3):
            client = new_client()
            expect(client.new_account(), 201)
            for _ in range(2):
                expect(client.new_order([name()]), 201)
        with psycopg.connect(database_url, autocommit=True) as conn:  # no counter work at all
            assert conn.execute("SELECT count(*) FROM rate_limit_counters").fetchone() == (0,)


# --- in process: fixed windows on an injected clock, and the cleanup task ----------------------
class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def db_url() -> Iterator[str]:
    db = f"acmeeh_rl_{worker_id()}_{os.getpid()}_{next(_n)}"
    url = fresh_database(db)
    with psycopg.connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
    yield url
    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


@pytest.fixture
def env(db_url: str) -> Iterator[Env]:
    settings = settings_from_dict(
        {
            "server": {"external_url": "http://127.0.0.1:1"},
            "database": {"url": db_url},
            "security": {
                "rate_limits": {
                    "enabled": True,
                    "exempt_networks": ["10.0.0.0/8"],
                    "new_accounts_per_ip": {"count": 2, "window_seconds": 60},
                }
            },
        }
    )
    start = datetime(2030, 1, 1, tzinfo=UTC)  # a window boundary for 60 s windows
    with ConnectionPool(db_url, min_size=1, max_size=2, kwargs={"autocommit": True}) as pool:
        with pool.connection() as conn:
            conn.execute("TRUNCATE rate_limit_counters")
        yield Env(
            settings=settings,
            pool=pool,
            ca=None,
            validator=None,
            dispatch=lambda _id: None,
            clock=Clock(start),
        )


def take(env: Env, addr: str, *, rollback: bool = False) -> None:
    with env.pool.connection() as conn, conn.transaction(force_rollback=rollback):
        ratelimits.take_new_account(env, conn, addr)


def test_window_on_an_injected_clock(env: Env) -> None:
    clock: Clock = env.clock  # type: ignore[assignment]
    take(env, "192.0.2.1", rollback=True)  # the operation failed: its count is undone
    take(env, "192.0.2.1")
    clock.now += timedelta(seconds=15)
    take(env, "192.0.2.1")
    with pytest.raises(Problem) as refused:
        take(env, "192.0.2.1")
    assert (refused.value.status, refused.value.headers) == (429, {"Retry-After": "45"})
    take(env, "192.0.2.2")  # another client
    take(env, "10.1.2.3")  # exempt
    clock.now += timedelta(seconds=45)  # the next window
    take(env, "192.0.2.1")


@pytest.mark.parametrize(
    ("addr", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("fe80::1%eth0", "fe80::/64"),
        ("", None),
        (None, None),
        ("not-an-address", None),
    ],
)
def test_client_key(addr: str | None, key: str | None) -> None:
    assert ratelimits.client_key(addr) == key


@pytest.mark.parametrize(
    ("addr", "exempt"),
    [
        ("127.0.0.1", True),
        ("::ffff:127.0.0.9", True),
        ("::1", True),
        ("192.0.2.1", False),
        ("2001:db8::1", False),
        (None, False),
        ("junk", False),
    ],
)
def test_exempt_networks(addr: str | None, exempt: bool) -> None:
    assert ratelimits.is_exempt(("127.0.0.0/8", "::1/128"), addr) is exempt


def test_cleanup_task_deletes_ended_windows(env: Env) -> None:
    clock: Clock = env.clock  # type: ignore[assignment]
    for i in range(5):
        take(env, f"192.0.2.{i}")
    clock.now += timedelta(seconds=60)  # those windows have ended
    take(env, "192.0.2.100")
    task = next(t for t in TASKS if t.name == "rate_limits")
    assert CleanupWorker(env).run_task(task) == 5
    with env.pool.connection() as conn:
        left = conn.execute("SELECT key FROM rate_limit_counters").fetchall()
    assert left == [("192.0.2.100",)]
    assert math.isclose(task.interval(env.settings), 300)


@pytest.mark.parametrize(
    ("minutes_ago", "retry_after"),
    [
        ((55, 50, 45, 30, 20, 10), 600),  # the 5th most recent (50 min ago) leaves in 10 min
        ((59, 40, 30, 20, 10), 60),
        ((70, 40, 30, 20, 10), None),  # one failure is out of the window: 4 left
        ((40, 30, 20, 10), None),
    ],
)
def test_failed_validations_slide(env: Env, minutes_ago: tuple[int, ...], retry_after) -> None:
    now = env.clock()
    with env.pool.connection() as conn, conn.transaction(force_rollback=True):
        account = SimpleNamespace(id=uuid.uuid4())
        conn.execute(
            "INSERT INTO accounts (id, jwk, thumbprint, status) VALUES (%s, '{}', %s, 'valid')",
            (account.id, account.id.hex),
        )
        for minutes in minutes_ago:
            conn.execute(
                "INSERT INTO authorizations (id, account_id, identifier_type, identifier_value,"
                " status, expires, updated_at) VALUES (%s, %s, 'dns', 'a.example', 'invalid',"
                " %s, %s)",
                (uuid.uuid4(), account.id, now, now - timedelta(minutes=minutes)),
            )
        order = [normalize("dns", "b.example"), normalize("dns", "*.a.example")]
        if retry_after is None:
            ratelimits.check_failed_validations(env, conn, account, order, "192.0.2.1")
            return
        with pytest.raises(Problem) as refused:
            ratelimits.check_failed_validations(env, conn, account, order, "192.0.2.1")
        assert refused.value.headers == {"Retry-After": str(retry_after)}
        assert "a.example" in refused.value.detail
        ratelimits.check_failed_validations(env, conn, account, order, "10.0.0.1")  # exempt


@pytest.mark.parametrize(
    ("rate_limits", "path"),
    [
        ({"exempt_networks": ["10.0.0.1/8"]}, "security.rate_limits.exempt_networks"),
        ({"exempt_networks": ["not-a-net"]}, "security.rate_limits.exempt_networks"),
        ({"new_orders_per_account": {"count": -1}}, "security.rate_limits.new_orders_per_account"),
        (
            {"new_accounts_per_ip": {"window_seconds": 0}},
            "security.rate_limits.new_accounts_per_ip",
        ),
        ({"per_hour": 5}, "security.rate_limits"),
    ],
)
def test_bad_settings_name_the_key(rate_limits: dict, path: str) -> None:
    with pytest.raises(ConfigError) as refused:
        settings_from_dict(
            {
                "server": {"external_url": "http://127.0.0.1:1"},
                "security": {"rate_limits": rate_limits},
            }
        )
    assert any(error.startswith(path) for error in refused.value.errors), refused.value.errors
