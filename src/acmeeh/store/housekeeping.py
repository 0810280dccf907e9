"""Queries of the background workers: find stale or expired rows, bounded deletes for retention.

Every function takes the connection first and a `limit`, so one call touches a bounded number
of rows (except `expiry_backlog`, one count over the partial expiry indexes, for the metrics).
State changes stay compare-and-sets in the table modules; what is here either finds
candidates (the authority then moves them one by one) or deletes rows no one needs any more.
"""
from __future__ import annotations

from datetime import datetime
from uuid import UUID

import psycopg

from .db import Params


# --- challenges ---------------------------------------------------------------------------
# Challenges in processing since before a time: their validation was lost.
STALE_CHALLENGES = """
SELECT id FROM challenges
WHERE status = 'processing' AND processing_since < %(stale_before)s
ORDER BY processing_since LIMIT %(limit)s
"""

# Pending challenges the client already answered, put back in line, whose authorization can
# still be validated.
REQUEUED_CHALLENGES = """
SELECT c.id FROM challenges c JOIN authorizations a ON a.id = c.authorization_id
WHERE c.status = 'pending' AND c.attempts > 0 AND a.status = 'pending' AND a.expires > %(now)s
ORDER BY c.updated_at LIMIT %(limit)s
"""

# processing → pending, when still stale.
REQUEUE_CHALLENGE = """
UPDATE challenges SET status = 'pending', processing_since = NULL, updated_at = now()
WHERE id = %(id)s AND status = 'processing' AND processing_since < %(stale_before)s
"""

COUNT_PENDING_CHALLENGES = """
SELECT count(*) FROM challenges WHERE authorization_id = %(authz_id)s AND status = 'pending'
"""

# --- nonces -------------------------------------------------------------------------------
DELETE_EXPIRED_NONCES = """
DELETE FROM nonces WHERE value IN (
    SELECT value FROM nonces WHERE expires_at <= %(now)s LIMIT %(limit)s)
"""

# --- orders and authorizations ------------------------------------------------------------
EXPIRED_OPEN_ORDERS = """
SELECT id FROM orders WHERE status IN ('pending', 'ready') AND expires <= %(now)s
ORDER BY expires LIMIT %(limit)s
"""

STALE_PROCESSING_ORDERS = """
SELECT id FROM orders WHERE status = 'processing' AND updated_at < %(older_than)s
ORDER BY updated_at LIMIT %(limit)s
"""

EXPIRED_AUTHORIZATIONS = """
SELECT id, status FROM authorizations WHERE status IN ('pending', 'valid') AND expires <= %(now)s
ORDER BY expires LIMIT %(limit)s
"""

EXPIRY_BACKLOG = """
SELECT 'orders', count(*), min(expires) FROM orders
 WHERE status IN ('pending', 'ready') AND expires <= %(now)s
UNION ALL
SELECT 'authorizations', count(*), min(expires) FROM authorizations
 WHERE status IN ('pending', 'valid') AND expires <= %(now)s
"""

# --- retention ----------------------------------------------------------------------------
# Finished orders that expired and never got a certificate (one with a certificate is kept
# for ever, as is one still processing); order_authorizations rows go with them (CASCADE).
DELETE_OLD_ORDERS = """
DELETE FROM orders WHERE id IN (
    SELECT o.id FROM orders o
    WHERE o.status IN ('invalid', 'pending', 'ready') AND o.certificate_id IS NULL
      AND o.expires < %(expired_before)s
      AND NOT EXISTS (SELECT 1 FROM certificates c WHERE c.order_id = o.id)
    ORDER BY o.expires LIMIT %(limit)s)
"""

# Expired authorizations no order links any more; challenges go with them (CASCADE).
DELETE_OLD_AUTHORIZATIONS = """
DELETE FROM authorizations WHERE id IN (
    SELECT a.id FROM authorizations a
    WHERE a.expires < %(expired_before)s
      AND NOT EXISTS (SELECT 1 FROM order_authorizations oa WHERE oa.authorization_id = a.id)
    ORDER BY a.expires LIMIT %(limit)s)
"""


def _ids(conn: psycopg.Connection, query: str, params: Params) -> list[UUID]:
    return [row[0] for row in conn.execute(query, params).fetchall()]


def find_stale_challenges(conn: psycopg.Connection, stale_before: datetime, limit: int) -> list[UUID]:
    """Challenges in processing since before `stale_before` (their validation was lost)."""
    return _ids(conn, STALE_CHALLENGES, {"stale_before": stale_before, "limit": limit})


def find_requeued_challenges(conn: psycopg.Connection, now: datetime, limit: int) -> list[UUID]:
    """Pending challenges the client already answered (attempts > 0) that were put back in
    line, whose authorization can still be validated."""
    return _ids(conn, REQUEUED_CHALLENGES, {"now": now, "limit": limit})


def requeue_challenge(conn: psycopg.Connection, challenge_id: UUID, stale_before: datetime) -> bool:
    """processing → pending when still stale (compare-and-set); False when it moved meanwhile."""
    cur = conn.execute(REQUEUE_CHALLENGE, {"id": challenge_id, "stale_before": stale_before})
    return cur.rowcount == 1


def count_pending_challenges(conn: psycopg.Connection, authz_id: UUID) -> int:
    row = conn.execute(COUNT_PENDING_CHALLENGES, {"authz_id": authz_id}).fetchone()
    return int(row[0]) if row else 0


def delete_expired_nonces(conn: psycopg.Connection, now: datetime, limit: int) -> int:
    """Delete up to `limit` nonces that can no longer be redeemed (RFC 8555 §6.5)."""
    return conn.execute(DELETE_EXPIRED_NONCES, {"now": now, "limit": limit}).rowcount


def find_expired_open_orders(conn: psycopg.Connection, now: datetime, limit: int) -> list[UUID]:
    """Pending or ready orders past `expires` (RFC 8555 §7.1.6: they become invalid)."""
    return _ids(conn, EXPIRED_OPEN_ORDERS, {"now": now, "limit": limit})


def find_stale_processing_orders(conn: psycopg.Connection, older_than: datetime, limit: int) -> list[UUID]:
    """Orders in processing whose last change is older than `older_than` (finalize never ended)."""
    return _ids(conn, STALE_PROCESSING_ORDERS, {"older_than": older_than, "limit": limit})


def find_expired_authorizations(
    conn: psycopg.Connection, now: datetime, limit: int
) -> list[tuple[UUID, str]]:
    """(id, status) of pending or valid authorizations past `expires`."""
    rows = conn.execute(EXPIRED_AUTHORIZATIONS, {"now": now, "limit": limit}).fetchall()
    return [(row[0], row[1]) for row in rows]


def expiry_backlog(conn: psycopg.Connection, now: datetime) -> dict[str, tuple[int, datetime | None]]:
    """{"orders" | "authorizations": (how many are past `expires` but not yet marked, the
    oldest `expires` among them)}: the work the cleanup worker has not done yet."""
    rows = conn.execute(EXPIRY_BACKLOG, {"now": now}).fetchall()
    return {row[0]: (row[1], row[2]) for row in rows}


def delete_old_orders(conn: psycopg.Connection, expired_before: datetime, limit: int) -> int:
    """Delete finished orders that expired before `expired_before` and never got a certificate.

    An order with a certificate is kept for ever (the certificate references it), as is one
    still processing. order_authorizations rows go with the order (ON DELETE CASCADE).
    """
    return conn.execute(DELETE_OLD_ORDERS, {"expired_before": expired_before, "limit": limit}).rowcount


def delete_old_authorizations(conn: psycopg.Connection, expired_before: datetime, limit: int) -> int:
    """Delete authorizations that expired before `expired_before` and no order links any more.

    Authorizations of kept orders (those with certificates) stay as the record of validation;
    challenges go with their authorization (ON DELETE CASCADE).
    """
    return conn.execute(DELETE_OLD_AUTHORIZATIONS,
                        {"expired_before": expired_before, "limit": limit}).rowcount
