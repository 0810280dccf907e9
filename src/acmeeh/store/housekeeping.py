"""Queries of the background workers: find stale or expired rows, bounded deletes for retention.

Every function takes the connection first and a `limit`, so one call touches a bounded number
of rows (except `expiry_backlog`, one count over the partial expiry indexes, for the metrics). State changes stay compare-and-sets in the table modules; what is here either finds
candidates (the authority then moves them one by one) or deletes rows no one needs any more.
"""
from __future__ import annotations

from datetime import datetime
from uuid import UUID

import psycopg


def _ids(conn: psycopg.Connection, query: str, params: tuple[object, ...]) -> list[UUID]:
    return [row[0] for row in conn.execute(query, params).fetchall()]  # type: ignore[arg-type]


# --- challenges ---------------------------------------------------------------------------
def find_stale_challenges(conn: psycopg.Connection, stale_before: datetime, limit: int) -> list[UUID]:
    """Challenges in processing since before `stale_before` (their validation was lost)."""
    return _ids(
        conn,
        "SELECT id FROM challenges WHERE status = 'processing' AND processing_since < %s"
        " ORDER BY processing_since LIMIT %s",
        (stale_before, limit),
    )


def find_requeued_challenges(conn: psycopg.Connection, now: datetime, limit: int) -> list[UUID]:
    """Pending challenges the client already answered (attempts > 0) that were put back in
    line, whose authorization can still be validated."""
    return _ids(
        conn,
        "SELECT c.id FROM challenges c JOIN authorizations a ON a.id = c.authorization_id"
        " WHERE c.status = 'pending' AND c.attempts > 0 AND a.status = 'pending' AND a.expires > %s"
        " ORDER BY c.updated_at LIMIT %s",
        (now, limit),
    )


def requeue_challenge(conn: psycopg.Connection, challenge_id: UUID, stale_before: datetime) -> bool:
    """processing → pending when still stale (compare-and-set); False when it moved meanwhile."""
    cur = conn.execute(
        "UPDATE challenges SET status = 'pending', processing_since = NULL, updated_at = now()"
        " WHERE id = %s AND status = 'processing' AND processing_since < %s",
        (challenge_id, stale_before),
    )
    return cur.rowcount == 1


def count_pending_challenges(conn: psycopg.Connection, authz_id: UUID) -> int:
    row = conn.execute(
        "SELECT count(*) FROM challenges WHERE authorization_id = %s AND status = 'pending'",
        (authz_id,),
    ).fetchone()
    return int(row[0]) if row else 0


# --- nonces -------------------------------------------------------------------------------
def delete_expired_nonces(conn: psycopg.Connection, now: datetime, limit: int) -> int:
    """Delete up to `limit` nonces that can no longer be redeemed (RFC 8555 §6.5)."""
    return conn.execute(
        "DELETE FROM nonces WHERE value IN"
        " (SELECT value FROM nonces WHERE expires_at <= %s LIMIT %s)",
        (now, limit),
    ).rowcount


# --- orders and authorizations ------------------------------------------------------------
def find_expired_open_orders(conn: psycopg.Connection, now: datetime, limit: int) -> list[UUID]:
    """Pending or ready orders past `expires` (RFC 8555 §7.1.6: they become invalid)."""
    return _ids(
        conn,
        "SELECT id FROM orders WHERE status IN ('pending', 'ready') AND expires <= %s"
        " ORDER BY expires LIMIT %s",
        (now, limit),
    )


def find_stale_processing_orders(conn: psycopg.Connection, older_than: datetime, limit: int) -> list[UUID]:
    """Orders in processing whose last change is older than `older_than` (finalize never ended)."""
    return _ids(
        conn,
        "SELECT id FROM orders WHERE status = 'processing' AND updated_at < %s"
        " ORDER BY updated_at LIMIT %s",
        (older_than, limit),
    )


def find_expired_authorizations(
    conn: psycopg.Connection, now: datetime, limit: int
) -> list[tuple[UUID, str]]:
    """(id, status) of pending or valid authorizations past `expires`."""
    rows = conn.execute(
        "SELECT id, status FROM authorizations WHERE status IN ('pending', 'valid') AND expires <= %s"
        " ORDER BY expires LIMIT %s",
        (now, limit),
    ).fetchall()
    return [(row[0], row[1]) for row in rows]


EXPIRY_BACKLOG = """
SELECT 'orders', count(*), min(expires) FROM orders
 WHERE status IN ('pending', 'ready') AND expires <= %(now)s
UNION ALL
SELECT 'authorizations', count(*), min(expires) FROM authorizations
 WHERE status IN ('pending', 'valid') AND expires <= %(now)s
"""


def expiry_backlog(conn: psycopg.Connection, now: datetime) -> dict[str, tuple[int, datetime | None]]:
    """{"orders" | "authorizations": (how many are past `expires` but not yet marked, the
    oldest `expires` among them)}: the work the cleanup worker has not done yet."""
    rows = conn.execute(EXPIRY_BACKLOG, {"now": now}).fetchall()
    return {row[0]: (row[1], row[2]) for row in rows}


# --- retention ----------------------------------------------------------------------------
def delete_old_orders(conn: psycopg.Connection, expired_before: datetime, limit: int) -> int:
    """Delete finished orders that expired before `expired_before` and never got a certificate.

    An order with a certificate is kept for ever (the certificate references it), as is one
    still processing. order_authorizations rows go with the order (ON DELETE CASCADE).
    """
    return conn.execute(
        "DELETE FROM orders WHERE id IN (SELECT o.id FROM orders o"
        " WHERE o.status IN ('invalid', 'pending', 'ready') AND o.certificate_id IS NULL"
        " AND o.expires < %s"
        " AND NOT EXISTS (SELECT 1 FROM certificates c WHERE c.order_id = o.id)"
        " ORDER BY o.expires LIMIT %s)",
        (expired_before, limit),
    ).rowcount


def delete_old_authorizations(conn: psycopg.Connection, expired_before: datetime, limit: int) -> int:
    """Delete authorizations that expired before `expired_before` and no order links any more.

    Authorizations of kept orders (those with certificates) stay as the record of validation;
    challenges go with their authorization (ON DELETE CASCADE).
    """
    return conn.execute(
        "DELETE FROM authorizations WHERE id IN (SELECT a.id FROM authorizations a"
        " WHERE a.expires < %s"
        " AND NOT EXISTS (SELECT 1 FROM order_authorizations oa WHERE oa.authorization_id = a.id)"
        " ORDER BY a.expires LIMIT %s)",
        (expired_before, limit),
    ).rowcount
