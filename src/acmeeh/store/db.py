"""Connection pool and connection strings."""
from __future__ import annotations

import contextlib
import dataclasses
import select
from collections.abc import Mapping
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import class_row
from psycopg_pool import ConnectionPool, PoolTimeout

# The names other rooms use in type hints, so that only this room imports psycopg.
Connection = psycopg.Connection
Pool = ConnectionPool

R = TypeVar("R")
# Named parameters of a statement: the keys of its %(name)s placeholders.
Params = Mapping[str, Any]
# A statement: a named constant, or one composed with psycopg.sql (a listing's filters).
Query = str | sql.Composed


def fetch_one(conn: psycopg.Connection, record: type[R], query: Query, params: Params) -> R | None:
    """The first row of `query` as a `record` (a frozen dataclass of records.py or of the
    module), or None; the one typed read of the store (fetch_all for every row)."""
    with conn.cursor(row_factory=class_row(record)) as cur:
        return cur.execute(query, params).fetchone()


def fetch_all(conn: psycopg.Connection, record: type[R], query: Query, params: Params) -> list[R]:
    """Every row of `query` as a `record`."""
    with conn.cursor(row_factory=class_row(record)) as cur:
        return cur.execute(query, params).fetchall()


def conninfo(database: Any) -> str:
    """The libpq connection string for the `database` settings section."""
    if database.url:
        return database.url
    params: dict[str, Any] = {
        "host": database.host,
        "port": database.port,
        "dbname": database.database,
        "user": database.user,
        "sslmode": database.sslmode,
        "connect_timeout": database.connect_timeout,
    }
    if database.password:
        params["password"] = database.password
    return make_conninfo(**params)


def describe(database: Any) -> str:
    """A printable description of the target, without the password."""
    info = conninfo_to_dict(conninfo(database))
    host = info.get("host") or "localhost"
    return f"{info.get('user', '')}@{host}:{info.get('port', 5432)}/{info.get('dbname', '')}"


# How long the pool keeps retrying one failed attempt to open a connection before it gives the
# attempt up. psycopg_pool backs off 1 s, 2 s, 4 s... within an attempt, so a long attempt would
# come back minutes after the database did; given up early, the next request that waits for a
# connection starts a fresh attempt at once, and the pool is back within about this long of the
# database accepting connections.
RECONNECT_ATTEMPT_SECONDS = 0.5


def open_pool(database: Any, *, name: str = "acmeeh", wait: bool = False) -> ConnectionPool:
    """Open a pool sized by the settings. With `wait`, block until `min_connections` are up.

    A caller waits at most `database.acquire_timeout_seconds` for a connection, then gets
    PoolTimeout (one of `Unavailable`). Connections the server ended while they sat idle
    (restart, failover, pg_terminate_backend) are found and replaced at checkout. A statement a
    connection ran `database.prepare_threshold` times is prepared on the server from then on
    (None: never), so PostgreSQL parses and plans it once per connection.
    """
    pool = ConnectionPool(
        conninfo(database),
        min_size=min(database.min_connections, database.max_connections),
        max_size=database.max_connections,
        timeout=database.acquire_timeout_seconds,
        reconnect_timeout=RECONNECT_ATTEMPT_SECONDS,
        check=_check_idle,
        name=name,
        kwargs={"autocommit": True, "prepare_threshold": database.prepare_threshold},
        open=False,
    )
    pool.open(wait=wait, timeout=database.connect_timeout)
    return pool


def _check_idle(conn: psycopg.Connection) -> None:
    """The pool's check at checkout, without a round trip on the hot path: an idle connection
    has nothing to read unless the server sent something on its own, which in practice means
    it ended the session (a FATAL message, then EOF). Only then is a real query tried; it
    raises for a dead connection, which the pool then discards and replaces."""
    poller = select.poll()  # not select(): no FD_SETSIZE limit
    poller.register(conn.fileno(), select.POLLIN)
    if poller.poll(0):
        ConnectionPool.check_connection(conn)


def connect(database: Any) -> psycopg.Connection:
    """One autocommit connection (CLI commands, migrations), bounded by connect_timeout."""
    return psycopg.connect(
        conninfo(database),
        autocommit=True,
        connect_timeout=database.connect_timeout,
        prepare_threshold=database.prepare_threshold,
    )


# What callers outside the store catch when the database is unreachable or refuses.
DatabaseError = psycopg.Error
# The database cannot serve now but may soon: unreachable, the connection lost, no pooled
# connection within acquire_timeout_seconds (PoolTimeout), shutting down or starting up, a
# statement timeout or a serialization failure. Requests answer 503 with Retry-After for it.
Unavailable = psycopg.OperationalError


def unavailable_reason(exc: BaseException) -> str:
    """Why the database could not serve: "pool_timeout" (no connection within
    acquire_timeout_seconds) or "connection" (lost, refused, shutting down...), with a short
    description for the log (never a password: psycopg messages carry none)."""
    reason = "pool_timeout" if isinstance(exc, PoolTimeout) else "connection"
    text = str(exc).strip().splitlines()
    return f"{reason}: {text[0][:200] if text else type(exc).__name__}"


def ensure_database(server_url: str, name: str) -> None:
    """Create database `name` on the server at `server_url` unless it exists."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if found is None:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):  # created concurrently
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def pool_stats(pool: ConnectionPool) -> dict[str, int]:
    """Size / available / waiting, as the health endpoint reports them."""
    stats = pool.get_stats()
    return {
        "size": stats.get("pool_size", 0),
        "available": stats.get("pool_available", 0),
        "waiting": stats.get("requests_waiting", 0),
    }


@dataclasses.dataclass(frozen=True)
class PoolUsage:
    """What a pool lends now, and what it counted since it opened (for the metrics)."""

    in_use: int = 0
    open: int = 0
    max: int = 0
    waiting: int = 0
    waits: int = 0  # requests that found no idle connection and queued
    wait_ms: int = 0  # time they spent queued
    timeouts: int = 0  # requests that gave up (pool timeout) or were refused


def pool_usage(pool: ConnectionPool) -> PoolUsage:
    """The pool's usage from psycopg_pool's statistics (counters absent until non-zero)."""
    stats = pool.get_stats()
    size = stats.get("pool_size", 0)
    return PoolUsage(
        in_use=max(0, size - stats.get("pool_available", 0)),
        open=size,
        max=stats.get("pool_max", pool.max_size),
        waiting=stats.get("requests_waiting", 0),
        waits=stats.get("requests_queued", 0),
        wait_ms=stats.get("requests_wait_ms", 0),
        timeouts=stats.get("requests_errors", 0),
    )


def ping(conn: psycopg.Connection) -> str:
    """The server version string; raises when the database is unreachable."""
    row = conn.execute("SELECT version()").fetchone()
    return row[0] if row else ""
