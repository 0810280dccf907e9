"""rate_limit_counters table: fixed-window counters shared by every instance (security.rate_limits
and the admin API's login attempts per address), and the count of an account's failed
validations per name."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import psycopg


# One more on the (name, key, window) counter unless it already holds %(limit)s: the new
# count, or no row when the window is full (the counter is then left as it was).
TAKE = """
INSERT INTO rate_limit_counters AS c (name, key, window_start, count, expires_at)
VALUES (%(name)s, %(key)s, %(start)s, 1, %(end)s)
ON CONFLICT (name, key, window_start) DO UPDATE SET count = c.count + 1
WHERE c.count < %(limit)s
RETURNING c.count
"""

# One less: a count of one goes away.
GIVE_BACK = """
WITH gone AS (
    DELETE FROM rate_limit_counters
    WHERE name = %(name)s AND key = %(key)s AND window_start = %(start)s AND count = 1
)
UPDATE rate_limit_counters SET count = count - 1
WHERE name = %(name)s AND key = %(key)s AND window_start = %(start)s AND count > 1
"""

DELETE_EXPIRED = """
DELETE FROM rate_limit_counters WHERE ctid IN (
    SELECT ctid FROM rate_limit_counters WHERE expires_at <= %(now)s LIMIT %(limit)s)
"""

# Names with %(at_least)s invalid authorizations of the account updated after %(since)s, each
# with the times of its most recent failures, newest first.
RECENT_FAILURES = """
SELECT identifier_value, (array_agg(updated_at ORDER BY updated_at DESC))[1:%(at_least)s]
FROM authorizations
WHERE account_id = %(account_id)s AND status = 'invalid' AND updated_at > %(since)s
  AND identifier_value = ANY(%(names)s)
GROUP BY identifier_value HAVING count(*) >= %(at_least)s
"""


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
    row = conn.execute(TAKE, {"name": name, "key": key, "start": window_start,
                              "end": window_end, "limit": limit}).fetchone()
    return int(row[0]) if row else None


def give_back(conn: psycopg.Connection, name: str, key: str, *, window_start: datetime) -> None:
    """Take one back from the (name, key, window) counter: a count of one goes away."""
    conn.execute(GIVE_BACK, {"name": name, "key": key, "start": window_start})


def delete_expired(conn: psycopg.Connection, now: datetime, limit: int) -> int:
    """Delete up to `limit` counters whose window ended at or before `now`."""
    return conn.execute(DELETE_EXPIRED, {"now": now, "limit": limit}).rowcount


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
    rows = conn.execute(RECENT_FAILURES, {"at_least": at_least, "account_id": account_id,
                                          "since": since, "names": list(names)}).fetchall()
    return {row[0]: list(row[1]) for row in rows}
