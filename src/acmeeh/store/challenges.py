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


def _one(conn: psycopg.Connection, query: str, params: tuple[Any, ...]) -> ChallengeRow | None:
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
        f" processing_since = NULL, updated_at = now()"
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


def stale_processing(conn: psycopg.Connection, older_than: datetime, limit: int) -> list[ChallengeRow]:
    """Challenges stuck in processing since before `older_than` (an instance died mid-way)."""
    return _all(
        conn,
        f"SELECT {_COLS} FROM challenges WHERE status = 'processing' AND processing_since < %s"
        f" ORDER BY processing_since LIMIT %s",
        (older_than, limit),
    )
