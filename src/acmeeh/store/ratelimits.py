"""rate_limit_counters table: fixed-window counters shared by every instance (security.rate_limits
and the admin API's login attempts per address), and the count of an account's failed
validations per name."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import psycopg


def take(
    conn: psycopg.Connection,
    name: str,
    key: str,
    *,
    window_start: datetime,
    window_end: datetime,
    limit: int,
) -> int | None:
    """Add one to the (name, key, window) counter unless it already holds `limit`.

    One statement, atomic across instances: the new count, or None when the window is full
    (the counter is then left as it was, so a refused attempt is not counted). The row stays
    locked until the caller's transaction ends; a rollback undoes the increment.
    """
    row = conn.execute(
        "INSERT INTO rate_limit_counters AS c (name, key, window_start, count, expires_at)"
        " VALUES (%s, %s, %s, 1, %s)"
        " ON CONFLICT (name, key, window_start) DO UPDATE SET count = c.count + 1"
        " WHERE c.count < %s RETURNING c.count",
        (name, key, window_start, window_end, limit),
    ).fetchone()
    return int(row[0]) if row else None


def give_back(conn: psycopg.Connection, name: str, key: str, *, window_start: datetime) -> None:
    """Take one back from the (name, key, window) counter: a count of one goes away."""
    conn.execute(_GIVE_BACK, {"name": name, "key": key, "start": window_start})


_GIVE_BACK = """
WITH gone AS (
    DELETE FROM rate_limit_counters
    WHERE name = %(name)s AND key = %(key)s AND window_start = %(start)s AND count = 1
)
UPDATE rate_limit_counters SET count = count - 1
WHERE name = %(name)s AND key = %(key)s AND window_start = %(start)s AND count > 1
"""


def delete_expired(conn: psycopg.Connection, now: datetime, limit: int) -> int:
    """Delete up to `limit` counters whose window ended at or before `now`."""
    return conn.execute(
        "DELETE FROM rate_limit_counters WHERE ctid IN"
        " (SELECT ctid FROM rate_limit_counters WHERE expires_at <= %s LIMIT %s)",
        (now, limit),
    ).rowcount


def recent_failures(
    conn: psycopg.Connection,
    account_id: UUID,
    names: Sequence[str],
    *,
    since: datetime,
    at_least: int,
) -> dict[str, list[datetime]]:
    """Names with `at_least` invalid authorizations of the account updated after `since`,
    each with the times of its `at_least` most recent failures, newest first."""
    rows = conn.execute(
        "SELECT identifier_value, (array_agg(updated_at ORDER BY updated_at DESC))[1:%s]"
        " FROM authorizations WHERE account_id = %s AND status = 'invalid' AND updated_at > %s"
        " AND identifier_value = ANY(%s) GROUP BY identifier_value HAVING count(*) >= %s",
        (at_least, account_id, since, list(names), at_least),
    ).fetchall()
    return {row[0]: list(row[1]) for row in rows}
