"""Maintenance mode: while on, new orders (and pre-authorizations) are refused with 503 and
Retry-After; everything already under way (challenges, finalize, downloads, accounts) goes on.

The switch lives in the database, so every instance sees a change on its next request.
"""
from __future__ import annotations

from ..protocol.problems import Problem
from ..store import maintenance as maintenance_store
from ..store.db import Connection
from ..store.maintenance import MaintenanceRow
from . import events
from .env import Env

# RFC 9110 §10.2.3: Retry-After tells clients when to come back; five minutes.
RETRY_AFTER_SECONDS = 300


def unavailable() -> Problem:
    """503 serverInternal with Retry-After: RFC 8555 has no "unavailable" type, and §6.7
    lets a server answer any type with the status that fits."""
    return Problem(
        "serverInternal",
        "The CA is in maintenance mode and does not accept new orders; retry later",
        503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def status(env: Env) -> MaintenanceRow:
    with env.pool.connection() as conn:
        return maintenance_store.get_maintenance(conn)


def set_enabled(env: Env, enabled: bool, *, actor: str | None) -> MaintenanceRow:
    """Turn maintenance on or off for every instance (maintenance.changed webhooks with it)."""
    with env.pool.connection() as conn, conn.transaction():
        row = maintenance_store.set_maintenance(conn, enabled, changed_by=actor, now=env.clock())
        events.maintenance_changed(conn, env, row)
    env.log.warning("maintenance mode %s", "on" if enabled else "off", extra={"actor": actor})
    return row


def check_open(env: Env, conn: Connection | None = None) -> None:
    """Raise the 503 problem while maintenance mode is on (on `conn` when given)."""
    if conn is not None:
        if maintenance_store.is_enabled(conn):
            raise unavailable()
        return
    with env.pool.connection() as own:
        check_open(env, own)
