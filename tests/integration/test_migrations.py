"""Upgrading a database: a database records its migrations by file name, so a name that has
been on main is never renamed, and a database migrated by an earlier main ends up with exactly
the schema of a fresh one once the migrations shipped since are applied."""
from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from support.database import fresh_database, server_url, unique_name

from acmeeh.store import migrate

# Every migration name that has been on main. Two carry 0010: they landed together from two
# branches; applying in name order keeps them independent. Renaming any of these would make
# an upgraded database apply it twice (or, renamed to a new number, skip nothing and fail).
LANDED = [
    "0001_core.sql", "0002_workers.sql", "0003_notifications.sql", "0004_revocation_status.sql",
    "0005_admin.sql", "0006_nonce_key.sql", "0007_rate_limits.sql",
    "0008_certificate_names_index.sql", "0009_account_page_indexes.sql",
    "0010_account_key_index.sql", "0010_challenge_retries.sql", "0011_caa_checks.sql",
    "0012_webhooks_retention.sql", "0013_blocked_keys.sql",
]
# The last migration main had before the issuance intents of issue 11 (0014) landed.
OLD_MAIN_HEAD = "0013_blocked_keys.sql"

_SCHEMA = """
SELECT 'column', table_name || '.' || column_name || ' ' || data_type || ' '
       || is_nullable || ' ' || coalesce(column_default, '')
  FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL
SELECT 'index', indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL
SELECT 'constraint', conrelid::regclass || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT 'trigger', tgrelid::regclass || ' ' || tgname FROM pg_trigger WHERE NOT tgisinternal
ORDER BY 1, 2
"""


def _schema(conn: psycopg.Connection) -> list[tuple[str, str]]:
    return [(kind, text) for kind, text in conn.execute(_SCHEMA)]


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    names = [unique_name("upgrade"), unique_name("fresh")]
    urls = [fresh_database(n) for n in names]
    yield urls[0], urls[1]
    with psycopg.connect(server_url(), autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_no_landed_migration_is_renamed() -> None:
    shipped = {name for name, _ in migrate.available()}
    assert [n for n in LANDED if n not in shipped] == []


def test_a_database_migrated_by_an_older_main_upgrades_to_the_fresh_schema(databases) -> None:
    upgraded, fresh = databases
    shipped = migrate.available()
    names = [n for n, _ in shipped]
    old = shipped[: names.index(OLD_MAIN_HEAD) + 1]
    with psycopg.connect(upgraded, autocommit=True) as conn:
        with conn.transaction():  # what migrate() did on the older main, names as recorded then
            conn.execute("CREATE TABLE schema_migrations (name text PRIMARY KEY,"
                         " applied_at timestamptz NOT NULL DEFAULT now())")
            for name, text in old:
                conn.execute(text)  # type: ignore[arg-type]  # shipped SQL
                conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (name,))
        applied = migrate.migrate(conn)
        assert applied == names[len(old):]
        assert migrate.status(conn).pending == []
        assert migrate.migrate(conn) == []  # a second start applies nothing
        upgraded_schema = _schema(conn)
    with psycopg.connect(fresh, autocommit=True) as conn:
        assert migrate.migrate(conn) == names
        fresh_schema = _schema(conn)
    assert upgraded_schema == fresh_schema
