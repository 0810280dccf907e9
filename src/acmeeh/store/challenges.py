"""challenges table."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from .db import fetch_all, fetch_one
from .records import AuthzRow, ChallengeRow, OrderRow, columns, split

_COLS = columns(ChallengeRow)

GET = f"""
SELECT {_COLS} FROM challenges WHERE id = %(id)s
"""

WITH_AUTHORIZATION = f"""
SELECT {columns(ChallengeRow, 'c')}, {columns(AuthzRow, 'a')}
FROM challenges c JOIN authorizations a ON a.id = c.authorization_id
WHERE c.id = %(id)s
"""

WITH_AUTHORIZATION_FOR_UPDATE = WITH_AUTHORIZATION + "FOR UPDATE\n"

FOR_VALIDATION = f"""
SELECT {columns(ChallengeRow, 'c')}, {columns(AuthzRow, 'a')}, k.thumbprint
FROM challenges c
JOIN authorizations a ON a.id = c.authorization_id
JOIN accounts k ON k.id = a.account_id
WHERE c.id = %(id)s
"""

OF_AUTHORIZATIONS = f"""
SELECT {_COLS} FROM challenges WHERE authorization_id = ANY(%(authz_ids)s) ORDER BY type
"""

# pending → processing (the client answered, RFC 8555 §7.5.1).
SET_PROCESSING = f"""
UPDATE challenges SET status = 'processing', processing_since = %(now)s,
       attempts = attempts + 1, updated_at = now()
WHERE id = %(id)s AND status = 'pending'
RETURNING {_COLS}
"""

# processing → valid | invalid | pending with the outcome of a validation.
FINISH = f"""
UPDATE challenges SET status = %(to_status)s, error = %(error)s, records = %(records)s,
       validated_at = CASE WHEN %(to_status)s = 'valid' THEN %(now)s ELSE validated_at END,
       processing_since = NULL, retry_at = NULL, updated_at = now()
WHERE id = %(id)s AND status = 'processing'
RETURNING {_COLS}
"""


def _promoting_orders(*, moved: str, rows: str) -> str:
    """The end of a statement that moved challenge `c` and authorization `a`: the orders of
    the authorization (once CTE `moved` has a row) whose other authorizations are all valid
    move order_from → order_to; it returns c, a and how many orders still wait for another
    authorization (read FROM `rows`)."""
    return f"""
), pending AS (
    SELECT o.id, NOT EXISTS (SELECT 1 FROM order_authorizations oa
                             JOIN authorizations x ON x.id = oa.authorization_id
                             WHERE oa.order_id = o.id AND x.id <> %(authz_id)s
                               AND x.status <> 'valid') AS complete
    FROM orders o
    WHERE o.id = ANY(ARRAY(SELECT order_id FROM order_authorizations
                           WHERE authorization_id = %(authz_id)s))
      AND o.status = %(order_from)s AND EXISTS (SELECT 1 FROM {moved})
), o AS (
    UPDATE orders SET status = %(order_to)s, updated_at = now()
    WHERE id IN (SELECT id FROM pending WHERE complete) AND status = %(order_from)s
    RETURNING {columns(OrderRow)}
)
SELECT {columns(ChallengeRow, 'c')}, {columns(AuthzRow, 'a')},
       (SELECT count(*) FROM pending WHERE NOT complete)
FROM {rows}
"""


# A passed validation (authority.states.pass_challenge), one statement under autocommit: the
# challenge processing → valid; its authorization pending → valid, only if the challenge moved
# (an authorization already valid, through another of its challenges, or no longer pending
# stays as it is); then each pending order of the authorization whose other authorizations are
# all valid pending → ready. As in ACCEPT_WITH_AUTHORIZATION_AND_ORDERS below, `incomplete`
# counts the pending orders this statement's snapshot could not promote, for the caller's
# second statement (orders.promote_completed).
PASS_WITH_AUTHORIZATION_AND_ORDERS = f"""
WITH c AS (
    UPDATE challenges SET status = %(to_status)s, error = NULL, records = %(records)s,
           validated_at = %(now)s, processing_since = NULL, retry_at = NULL,
           updated_at = now()
    WHERE id = %(id)s AND status = %(from_status)s
    RETURNING {_COLS}
), a AS (
    UPDATE authorizations SET status = %(authz_to)s, expires = %(expires)s,
           caa_checked_at = COALESCE(%(caa_checked_at)s, caa_checked_at), updated_at = now()
    WHERE id = %(authz_id)s AND status = %(authz_from)s AND EXISTS (SELECT 1 FROM c)
    RETURNING {columns(AuthzRow)}
""" + _promoting_orders(moved="a", rows="c LEFT JOIN a ON true")


@dataclass(frozen=True)
class Passed:
    """What a passed (or accepted) challenge moved in its statement: the valid challenge, the
    authorization when it moved, and how many pending orders it left because another of their
    authorizations was not valid in its snapshot (the completed ones it promoted)."""

    challenge: ChallengeRow
    authz: AuthzRow | None
    incomplete: int


def _passed(row: tuple[Any, ...] | None) -> Passed | None:
    if row is None:
        return None
    challenge, authz = split(row, ChallengeRow, AuthzRow)
    return Passed(challenge, authz, int(row[-1]))


def pass_with_authorization_and_orders(
    conn: psycopg.Connection, challenge_id: UUID, authz_id: UUID, *, from_status: str,
    to_status: str, authz_from: str, authz_to: str, order_from: str, order_to: str,
    now: datetime, expires: datetime, records: list[dict[str, Any]],
    caa_checked_at: datetime | None,
) -> Passed | None:
    """A passed validation, in one statement (callers go through authority.states); None, and
    nothing moved, when the challenge was no longer `from_status`."""
    return _passed(conn.execute(PASS_WITH_AUTHORIZATION_AND_ORDERS, {
        "id": challenge_id, "authz_id": authz_id, "from_status": from_status,
        "to_status": to_status, "authz_from": authz_from, "authz_to": authz_to,
        "order_from": order_from, "order_to": order_to, "now": now, "expires": expires,
        "records": Jsonb(records), "caa_checked_at": caa_checked_at,
    }).fetchone())


# Trusted-network mode (authority.states.accept_challenge), one statement under autocommit.
# The authorization moves first (pending → valid, unexpired, while the answered challenge is
# still pending): its row lock orders concurrent answers to any of its challenges, and the
# later one finds it valid and moves nothing. The challenge moves only with it (pending →
# valid, the answer counted as an attempt). Then each pending order of the authorization whose
# other authorizations are all valid moves pending → ready. An order whose other
# authorizations were not all valid in this statement's snapshot is counted in `incomplete`:
# one of them may have turned valid in a concurrent statement, so the caller promotes again,
# in a statement of its own, once this one has committed (orders.promote_completed).
ACCEPT_WITH_AUTHORIZATION_AND_ORDERS = f"""
WITH a AS (
    UPDATE authorizations SET status = %(authz_to)s, expires = %(expires)s,
           caa_checked_at = COALESCE(%(caa_checked_at)s, caa_checked_at), updated_at = now()
    WHERE id = %(authz_id)s AND status = %(authz_from)s AND expires > %(now)s
      AND EXISTS (SELECT 1 FROM challenges
                  WHERE id = %(id)s AND authorization_id = %(authz_id)s
                    AND status = %(from_status)s)
    RETURNING {columns(AuthzRow)}
), c AS (
    UPDATE challenges SET status = %(to_status)s, error = NULL, records = %(records)s,
           validated_at = %(now)s, processing_since = NULL, retry_at = NULL,
           attempts = attempts + 1, updated_at = now()
    WHERE id = %(id)s AND status = %(from_status)s AND EXISTS (SELECT 1 FROM a)
    RETURNING {_COLS}
""" + _promoting_orders(moved="c", rows="c, a")


def accept_with_authorization_and_orders(
    conn: psycopg.Connection, challenge_id: UUID, authz_id: UUID, *, from_status: str,
    to_status: str, authz_from: str, authz_to: str, order_from: str, order_to: str,
    now: datetime, expires: datetime, caa_checked_at: datetime | None,
) -> Passed | None:
    """An answer accepted without validation, in one statement (callers go through
    authority.states); None, and nothing moved, when the challenge or its authorization was
    no longer in its `from` status, or the authorization had expired (else the authorization
    is set: it moved)."""
    return _passed(conn.execute(ACCEPT_WITH_AUTHORIZATION_AND_ORDERS, {
        "id": challenge_id, "authz_id": authz_id, "from_status": from_status,
        "to_status": to_status, "authz_from": authz_from, "authz_to": authz_to,
        "order_from": order_from, "order_to": order_to, "now": now, "expires": expires,
        "records": Jsonb([]), "caa_checked_at": caa_checked_at,
    }).fetchone())


def get_challenge(conn: psycopg.Connection, challenge_id: UUID) -> ChallengeRow | None:
    return fetch_one(conn, ChallengeRow, GET, {"id": challenge_id})


def get_with_authorization(
    conn: psycopg.Connection, challenge_id: UUID, *, lock: bool = False
) -> tuple[ChallengeRow, AuthzRow] | None:
    """A challenge and its authorization in one round trip; with `lock`, both rows are locked
    for update (the caller is in a transaction)."""
    query = WITH_AUTHORIZATION_FOR_UPDATE if lock else WITH_AUTHORIZATION
    row = conn.execute(query, {"id": challenge_id}).fetchone()
    if row is None:
        return None
    challenge, authz = split(row, ChallengeRow, AuthzRow)
    return challenge, authz


def get_for_validation(
    conn: psycopg.Connection, challenge_id: UUID
) -> tuple[ChallengeRow, AuthzRow, str] | None:
    """A challenge, its authorization and the account key's thumbprint (for the key
    authorization, RFC 8555 §8.1), in one round trip."""
    row = conn.execute(FOR_VALIDATION, {"id": challenge_id}).fetchone()
    if row is None:
        return None
    challenge, authz = split(row, ChallengeRow, AuthzRow)
    return challenge, authz, row[-1]


def list_challenges(conn: psycopg.Connection, authz_ids: list[UUID]) -> list[ChallengeRow]:
    """Challenges of the given authorizations, in a stable order."""
    return fetch_all(conn, ChallengeRow, OF_AUTHORIZATIONS, {"authz_ids": authz_ids})


def set_processing(conn: psycopg.Connection, challenge_id: UUID, now: datetime) -> ChallengeRow | None:
    """pending → processing; None when the challenge was not pending."""
    return fetch_one(conn, ChallengeRow, SET_PROCESSING, {"id": challenge_id, "now": now})


# pending → processing unless the account already has `max_pending` challenges processing
# (counted up to the cap only, on the partial index of processing challenges).
ANSWER = f"""
UPDATE challenges SET status = 'processing', processing_since = %(now)s,
       attempts = attempts + 1, updated_at = now()
 WHERE id = %(id)s AND status = 'pending'
   AND (SELECT count(*) FROM (
         SELECT 1 FROM challenges p JOIN authorizations a ON a.id = p.authorization_id
          WHERE p.status = 'processing' AND a.account_id = %(account)s
          LIMIT %(cap)s) AS busy) < %(cap)s
RETURNING {_COLS}"""


def answer(conn: psycopg.Connection, challenge_id: UUID, now: datetime, *, account_id: UUID,
           max_pending: int) -> ChallengeRow | None:
    """pending → processing, as set_processing, unless `account_id` already has `max_pending`
    challenges processing; None when the challenge was not pending or the cap refused."""
    return fetch_one(conn, ChallengeRow, ANSWER, {"id": challenge_id, "now": now, "account": account_id,
                                "cap": max_pending})


UNANSWER = f"""
UPDATE challenges SET status = 'pending', processing_since = NULL,
       attempts = greatest(attempts - 1, 0), updated_at = now()
 WHERE id = %(id)s AND status = 'processing'
RETURNING {_COLS}"""


def unanswer(conn: psycopg.Connection, challenge_id: UUID) -> ChallengeRow | None:
    """processing → pending, undoing the answer that set_processing or answer recorded (its
    validation could not be queued); None when it was no longer processing."""
    return fetch_one(conn, ChallengeRow, UNANSWER, {"id": challenge_id})


KEEP_ALIVE = """
UPDATE challenges SET processing_since = %(now)s
 WHERE id = ANY(%(ids)s) AND status = 'processing'"""


def keep_alive(conn: psycopg.Connection, challenge_ids: list[UUID], now: datetime) -> int:
    """Renew processing_since of challenges still processing (their validation is queued or
    running on a live instance); the count renewed."""
    return conn.execute(KEEP_ALIVE, {"ids": challenge_ids, "now": now}).rowcount


RETRY_LATER = f"""
UPDATE challenges SET retries = retries + 1, retry_at = %(retry_at)s, error = %(error)s,
       records = %(records)s, processing_since = %(now)s, updated_at = now()
 WHERE id = %(id)s AND status = 'processing'
RETURNING {_COLS}"""


def retry_later(conn: psycopg.Connection, challenge_id: UUID, *, now: datetime,
                retry_at: datetime, error: dict[str, Any],
                records: list[dict[str, Any]]) -> ChallengeRow | None:
    """A transient failure (RFC 8555 §8.2): stays processing, shows `error`, next attempt at
    `retry_at`; None when the challenge was no longer processing."""
    return fetch_one(conn, ChallengeRow, RETRY_LATER, {"id": challenge_id, "now": now, "retry_at": retry_at,
                                     "error": Jsonb(error), "records": Jsonb(records)})


def finish(
    conn: psycopg.Connection,
    challenge_id: UUID,
    *,
    to_status: str,
    now: datetime,
    error: dict[str, Any] | None,
    records: list[dict[str, Any]],
) -> ChallengeRow | None:
    """processing → valid | invalid | pending (retry) with the validation outcome."""
    return fetch_one(conn, ChallengeRow, FINISH, {
        "id": challenge_id, "to_status": to_status, "now": now, "records": Jsonb(records),
        "error": Jsonb(error) if error is not None else None,
    })
