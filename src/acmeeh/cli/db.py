"""`db status` and `db migrate`: the schema as store/migrate.py sees it."""

from __future__ import annotations

import argparse
import logging
import sys

from acmeeh.cli.report import describe_database, one_line
from acmeeh.config import Settings
from acmeeh.store import db as store_db
from acmeeh.store import migrate as store_migrate

log = logging.getLogger("acmeeh.cli")


def connect(settings: Settings) -> store_db.Connection:
    """One autocommit connection to the configured database (bounded by connect_timeout)."""
    return store_db.connect(settings.database)


def apply_migrations(settings: Settings) -> list[str]:
    """Apply pending migrations (store.migrate serialises callers); return their names."""
    with connect(settings) as conn:
        applied = store_migrate.migrate(conn)
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))
    return applied


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Dispatch `db status` / `db migrate`."""
    if args.db_command == "status":
        return status(settings)
    return migrate(settings)


def status(settings: Settings) -> int:
    """Print connectivity and migrations; 0 when the database answered, 1 when it did not."""
    target = describe_database(settings.database)
    try:
        conn = connect(settings)
    except store_db.DatabaseError as exc:
        print(f"database: {target}: cannot connect: {one_line(exc)}", file=sys.stderr)
        return 1
    with conn:
        version = conn.info.parameter_status("server_version") or "unknown"
        state = store_migrate.status(conn)
    print(f"database: {target}: connected (PostgreSQL {version})")
    print(f"applied migrations ({len(state.applied)}): {', '.join(state.applied) or '-'}")
    print(f"pending migrations ({len(state.pending)}): {', '.join(state.pending) or '-'}")
    return 0


def migrate(settings: Settings) -> int:
    """Apply pending migrations and list them."""
    applied = apply_migrations(settings)
    if applied:
        for name in applied:
            print(f"applied {name}")
    else:
        print("database schema is up to date")
    return 0
