"""challenges table."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from .records import AuthzRow, ChallengeRow, columns, split

_COLS = columns(ChallengeRow)

_WITH_AUTHZ = (
    f"SELECT {columns(ChallengeRow, 'c')}, {columns(AuthzRow, 'a')} FROM challenges c"
    f" JOIN authorizations a ON a.id = c.authorization_id WHERE c.id = %s"
)


def _one(conn: psycopg.Connection, query: str,
         params: tuple[Any, ...] | dict[str, Any]) -> ChallengeRow | None:
    with conn.cursor(row_factory=class_row(ChallengeRow)) as cur:
        return cur.execute(query, params).fetchone()  # type: ignore[arg-type]


def _all(conn: psycopg.Connection, query: str, params: tuple[Any, ...]) -> list[ChallengeRow]:
    with conn.cursor(row_factory=class_row(ChallengeRow)) as cur:
        return cur.execute(query, params).fetchall()  # type: ignore[arg-type]


def get_challenge(conn: psycopg.Connection, challenge_id: UUID) -> ChallengeRow | None:
    return _one(conn, f"SELECT {_COLS} FROM challenges WHERE id = %s", (challenge_id,))


def get_with_authorization(
    conn: psycopg.Connection, challenge_id: UUID, *, lock: bool = False
) -> tuple[ChallengeRow, AuthzRow] | None:
    """A challenge and its authorization in one round trip; with `lock`, both rows are locked
    for update (the caller is in a transaction)."""
    query = _WITH_AUTHZ + (" FOR UPDATE" if lock else "")
    row = conn.execute(query, (challenge_id,)).fetchone()
    if row is None:
        return None
    challenge, authz = split(row, ChallengeRow, AuthzRow)
    return challenge, authz


def get_for_validation(
    conn: psycopg.Connection, challenge_id: UUID
) -> tuple[ChallengeRow, AuthzRow, str] | None:
    """A challenge, its authorization and the account key's thumbprint (for the key
    authorization, RFC 8555 §8.1), in one round trip."""
    row = conn.execute(
        f"SELECT {columns(ChallengeRow, 'c')}, {columns(AuthzRow, 'a')}, k.thumbprint"
        f" FROM challenges c JOIN authorizations a ON a.id = c.authorization_id"
        f" JOIN accounts k ON k.id = a.account_id WHERE c.id = %s",
        (challenge_id,),
    ).fetchone()
    if row is None:
        return None
    challenge, authz = split(row, ChallengeRow, AuthzRow)
    return challenge, authz, row[-1]


def list_challenges(conn: psycopg.Connection, authz_ids: list[UUID]) -> list[ChallengeRow]:
    """Challenges of the given authorizations, in a stable order."""
    return _all(
        conn,
        f"SELECT {_COLS} FROM challenges WHERE authorization_id = ANY(%s) ORDER BY type",
        (authz_ids,),
    )


def set_processing(conn: psycopg.Connection, challenge_id: UUID, now: datetime) -> ChallengeRow | None:
    """pending → processing; None when the challenge was not pending."""
    return _one(
        conn,
        f"UPDATE challenges SET status = 'processing', processing_since = %s,"
        f" attempts = attempts + 1, updated_at = now()"
        f" WHERE id = %s AND status = 'pending' RETURNING {_COLS}",
        (now, challenge_id),
    )


# pending → processing unless the account already has `max_pending` challenges processing
# (counted up to the cap only, on the partial index of processing challenges).
_ANSWER = f"""
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
    return _one(conn, _ANSWER, {"id": challenge_id, "now": now, "account": account_id,
                                "cap": max_pending})


_UNANSWER = f"""
UPDATE challenges SET status = 'pending', processing_since = NULL,
       attempts = greatest(attempts - 1, 0), updated_at = now()
 WHERE id = %(id)s AND status = 'processing'
RETURNING {_COLS}"""


def unanswer(conn: psycopg.Connection, challenge_id: UUID) -> ChallengeRow | None:
    """processing → pending, undoing the answer that set_processing or answer recorded (its
    validation could not be queued); None when it was no longer processing."""
    return _one(conn, _UNANSWER, {"id": challenge_id})


_KEEP_ALIVE = """
UPDATE challenges SET processing_since = %(now)s
 WHERE id = ANY(%(ids)s) AND status = 'processing'"""


def keep_alive(conn: psycopg.Connection, challenge_ids: list[UUID], now: datetime) -> int:
    """Renew processing_since of challenges still processing (their validation is queued or
    running on a live instance); the count renewed."""
    return conn.execute(_KEEP_ALIVE, {"ids": challenge_ids, "now": now}).rowcount


_RETRY_LATER = f"""
UPDATE challenges SET retries = retries + 1, retry_at = %(retry_at)s, error = %(error)s,
       records = %(records)s, processing_since = %(now)s, updated_at = now()
 WHERE id = %(id)s AND status = 'processing'
RETURNING {_COLS}"""


def retry_later(conn: psycopg.Connection, challenge_id: UUID, *, now: datetime,
                retry_at: datetime, error: dict[str, Any],
                records: list[dict[str, Any]]) -> ChallengeRow | None:
    """A transient failure (RFC 8555 §8.2): stays processing, shows `error`, next attempt at
    `retry_at`; None when the challenge was no longer processing."""
    return _one(conn, _RETRY_LATER, {"id": challenge_id, "now": now, "retry_at": retry_at,
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
    return _one(
        conn,
        f"UPDATE challenges SET status = %s, error = %s, records = %s,"
        f" validated_at = CASE WHEN %s = 'valid' THEN %s ELSE validated_at END,"
        f" processing_since = NULL, retry_at = NULL, updated_at = now()"
        f" WHERE id = %s AND status = 'processing' RETURNING {_COLS}",
        (
            to_status,
            Jsonb(error) if error is not None else None,
            Jsonb(records),
            to_status,
            now,
            challenge_id,
        ),
    )
