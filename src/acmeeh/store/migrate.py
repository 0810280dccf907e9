"""Versioned schema migrations: migrations/NNNN_name.sql applied in order, recorded in a table."""
from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg

from .locks import LockId

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class MigrationStatus:
    applied: list[str]
    pending: list[str]


def available() -> list[tuple[str, str]]:
    """(name, sql) of every shipped migration, in order."""
    folder = resources.files("acmeeh.store") / "migrations"
    names = sorted(p.name for p in folder.iterdir() if _NAME.match(p.name))
    return [(n, (folder / n).read_text(encoding="utf-8")) for n in names]


CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    name text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now())
"""

TABLE_EXISTS = """
SELECT to_regclass('schema_migrations') IS NOT NULL
"""

APPLIED = """
SELECT name FROM schema_migrations ORDER BY name
"""

# One lock for every ACMEEH process: concurrent start-ups migrate one at a time.
LOCK = """
SELECT pg_advisory_xact_lock(%(lock)s)
"""

RECORD = """
INSERT INTO schema_migrations (name) VALUES (%(name)s)
"""


def _applied(conn: psycopg.Connection) -> list[str]:
    exists = conn.execute(TABLE_EXISTS).fetchone()
    if not exists or not exists[0]:
        return []
    return [r[0] for r in conn.execute(APPLIED)]


def status(conn: psycopg.Connection) -> MigrationStatus:
    """Which migrations are applied and which are pending."""
    applied = _applied(conn)
    pending = [n for n, _ in available() if n not in set(applied)]
    return MigrationStatus(applied=applied, pending=pending)


def migrate(conn: psycopg.Connection) -> list[str]:
    """Apply every pending migration, each in its own transaction; return their names."""
    done: list[str] = []
    with conn.transaction():
        conn.execute(LOCK, {"lock": LockId.MIGRATIONS})
        conn.execute(CREATE_TABLE)
        applied = set(_applied(conn))
        for name, text in available():
            if name in applied:
                continue
            with conn.transaction():
                conn.execute(text)  # type: ignore[arg-type]  # trusted, shipped SQL
                conn.execute(RECORD, {"name": name})
            done.append(name)
    return done
