"""database.prepare_threshold: when a pooled (or CLI) connection turns a statement into a
server-side prepared statement, and null for proxies that cannot keep them (pgbouncer in
transaction mode before 1.21). Checked in PostgreSQL's own pg_prepared_statements."""
from __future__ import annotations

import pytest
from support.database import migrated_database

from acmeeh.config import ConfigError, settings_from_dict
from acmeeh.store import db

STATEMENT = "SELECT count(*) FROM pg_class WHERE relname = %s"
PREPARED = "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'SELECT count(*) FROM pg_class%%'"


@pytest.fixture(scope="module")
def database_url():
    with migrated_database("prepared") as url:
        yield url


def database_settings(url: str, threshold: object = "default"):
    section: dict = {"url": url, "min_connections": 1, "max_connections": 1}
    if threshold != "default":
        section["prepare_threshold"] = threshold
    data = {"server": {"external_url": "https://acme.example"}, "database": section}
    return settings_from_dict(data, environ={}).database


def prepared_after(conn, runs: int) -> int:
    for _ in range(runs):
        conn.execute(STATEMENT, ("pg_class",)).fetchone()
    row = conn.execute(PREPARED).fetchone()
    return row[0] if row else 0


@pytest.mark.parametrize(
    ("threshold", "runs", "prepared"),
    [
        ("default", 2, 0),  # the schema's default, 2: run twice, then prepared
        ("default", 3, 1),
        (1, 1, 0),
        (1, 2, 1),  # from the second run on
        (5, 5, 0),
        (5, 6, 1),
        (None, 20, 0),  # never
    ],
)
def test_pool_prepares_after_the_threshold(database_url, threshold, runs, prepared) -> None:
    settings = database_settings(database_url, threshold)
    pool = db.open_pool(settings, wait=True)
    try:
        with pool.connection() as conn:
            assert prepared_after(conn, runs) == prepared
    finally:
        pool.close()


@pytest.mark.parametrize(("threshold", "prepared"), [(1, 1), (None, 0)])
def test_cli_connection_follows_the_setting(database_url, threshold, prepared) -> None:
    with db.connect(database_settings(database_url, threshold)) as conn:
        assert prepared_after(conn, 3) == prepared


def test_scripts_of_several_statements_still_run_at_the_lowest_threshold(database_url) -> None:
    """Migrations run scripts of several statements; PostgreSQL cannot prepare those, so the
    lowest threshold (1) runs them plainly the first time and psycopg never prepares them."""
    settings = database_settings(database_url, 1)
    script = "SELECT 1; SELECT 2"
    pool = db.open_pool(settings, wait=True)
    try:
        with pool.connection() as conn:
            for _ in range(3):
                conn.execute(script)
    finally:
        pool.close()


def test_default_is_two() -> None:
    assert database_settings("postgresql:///x").prepare_threshold == 2


@pytest.mark.parametrize("bad", [0, -1, 1001, "2", 1.5, True])
def test_bad_thresholds_are_refused(bad) -> None:
    with pytest.raises(ConfigError) as info:
        database_settings("postgresql:///x", bad)
    assert [e for e in info.value.errors if e.startswith("database.prepare_threshold")]
