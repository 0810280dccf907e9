"""Aggregates for the admin dashboard: issuance rate, the expiry timeline, failures by problem
type, who leads each background loop, and the size of the dead-letter piles."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg

ISSUED_PER_HOUR = """
SELECT date_trunc('hour', created_at, 'UTC') AS hour, count(*) FROM certificates
WHERE created_at >= %(since)s GROUP BY 1 ORDER BY 1
"""

EXPIRING_PER_WEEK = """
SELECT floor(extract(epoch FROM not_after - %(now)s) / 604800)::int AS week, count(*)
FROM certificates
WHERE revoked_at IS NULL AND not_after > %(now)s
  AND not_after <= %(now)s + make_interval(weeks => %(weeks)s)
GROUP BY 1 ORDER BY 1
"""

ORDER_FAILURES = """
SELECT coalesce(error->>'type', 'unknown') AS type, count(*) FROM orders
WHERE status = 'invalid' AND updated_at >= %(since)s GROUP BY 1 ORDER BY 2 DESC LIMIT 20
"""

CHALLENGE_FAILURES = """
SELECT coalesce(error->>'type', 'unknown') AS type, count(*) FROM challenges
WHERE status = 'invalid' AND updated_at >= %(since)s GROUP BY 1 ORDER BY 2 DESC LIMIT 20
"""

# Session advisory locks of bigint keys below 2^32 show as classid 0, objid = key, objsubid 1.
LOCK_HOLDERS = """
SELECT l.objid::bigint AS lock_id, a.pid, a.application_name,
       host(a.client_addr) AS client_addr, a.backend_start
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.objid::bigint = ANY(%(ids)s)
ORDER BY 1
"""

PILES = """
SELECT (SELECT count(*) FROM webhook_deliveries WHERE status = 'dead'),
       (SELECT count(*) FROM notifications WHERE status IN ('failed', 'abandoned'))
"""


@dataclass(frozen=True)
class LockHolder:
    lock_id: int
    pid: int
    application_name: str
    client_addr: str | None
    backend_start: datetime


def issued_per_hour(conn: psycopg.Connection, since: datetime) -> dict[datetime, int]:
    return {hour: int(n) for hour, n in conn.execute(ISSUED_PER_HOUR, {"since": since})}


def expiring_per_week(conn: psycopg.Connection, now: datetime, weeks: int) -> dict[int, int]:
    """Unrevoked certificates by week of expiry from `now` (0 = within 7 days)."""
    rows = conn.execute(EXPIRING_PER_WEEK, {"now": now, "weeks": weeks})
    return {int(week): int(n) for week, n in rows}


def failures_since(conn: psycopg.Connection, since: datetime
                   ) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(orders, challenges) that became invalid since `since`, by problem type."""
    orders = [(t, int(n)) for t, n in conn.execute(ORDER_FAILURES, {"since": since})]
    challenges = [(t, int(n)) for t, n in conn.execute(CHALLENGE_FAILURES, {"since": since})]
    return orders, challenges


def lock_holders(conn: psycopg.Connection, lock_ids: Sequence[int]) -> list[LockHolder]:
    rows = conn.execute(LOCK_HOLDERS, {"ids": list(lock_ids)}).fetchall()
    return [LockHolder(int(r[0]), int(r[1]), r[2] or "", r[3], r[4]) for r in rows]


def dead_letters(conn: psycopg.Connection) -> tuple[int, int]:
    """(dead webhook deliveries, failed or abandoned notifications)."""
    row = conn.execute(PILES).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)
