"""authorizations table."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from .records import AuthzRow, ChallengeRow, columns, parent_with_children

_COLS = columns(AuthzRow)
_A_COLS = columns(AuthzRow, "a")
_AUTHZ_WITH_CHALLENGES = (
    f"SELECT {_A_COLS}, {columns(ChallengeRow, 'c')} FROM authorizations a"
    f" LEFT JOIN challenges c ON c.authorization_id = a.id WHERE a.id = %s ORDER BY c.type"
)


def _one(conn: psycopg.Connection, query: str, params: tuple[Any, ...]) -> AuthzRow | None:
    with conn.cursor(row_factory=class_row(AuthzRow)) as cur:
        return cur.execute(query, params).fetchone()  # type: ignore[arg-type]


def _all(conn: psycopg.Connection, query: str, params: tuple[Any, ...]) -> list[AuthzRow]:
    with conn.cursor(row_factory=class_row(AuthzRow)) as cur:
        return cur.execute(query, params).fetchall()  # type: ignore[arg-type]


def insert_with_challenges(
    conn: psycopg.Connection,
    authz_id: UUID,
    *,
    account_id: UUID,
    identifier_type: str,
    identifier_value: str,
    wildcard: bool,
    expires: datetime,
    challenges: list[tuple[UUID, str, str]],
) -> AuthzRow:
    """Insert a pending authorization and its pending challenges, given as (id, type,
    token), in one statement."""
    row = _one(
        conn,
        f"WITH a AS (INSERT INTO authorizations (id, account_id, identifier_type,"
        f" identifier_value, wildcard, status, expires)"
        f" VALUES (%s, %s, %s, %s, %s, 'pending', %s) RETURNING {_COLS}),"
        f" c AS (INSERT INTO challenges (id, authorization_id, type, token, status)"
        f" SELECT u.id, a.id, u.type, u.token, 'pending'"
        f" FROM a, unnest(%s::uuid[], %s::text[], %s::text[]) AS u (id, type, token))"
        f" SELECT {_COLS} FROM a",
        (
            authz_id, account_id, identifier_type, identifier_value, wildcard, expires,
            [c[0] for c in challenges], [c[1] for c in challenges], [c[2] for c in challenges],
        ),
    )
    assert row is not None
    return row


def get_with_challenges(
    conn: psycopg.Connection, authz_id: UUID
) -> tuple[AuthzRow, list[ChallengeRow]] | None:
    """An authorization and its challenges (ordered by type), in one round trip."""
    rows = conn.execute(_AUTHZ_WITH_CHALLENGES, (authz_id,)).fetchall()
    return parent_with_children(rows, AuthzRow, ChallengeRow)


def get_authorization(conn: psycopg.Connection, authz_id: UUID) -> AuthzRow | None:
    return _one(conn, f"SELECT {_COLS} FROM authorizations WHERE id = %s", (authz_id,))


def lock_authorization(conn: psycopg.Connection, authz_id: UUID) -> AuthzRow | None:
    return _one(conn, f"SELECT {_COLS} FROM authorizations WHERE id = %s FOR UPDATE", (authz_id,))


def list_order_authorizations(conn: psycopg.Connection, order_id: UUID) -> list[AuthzRow]:
    return _all(
        conn,
        f"SELECT {_COLS} FROM authorizations WHERE id = ANY"
        f" (ARRAY(SELECT authorization_id FROM order_authorizations WHERE order_id = %s))"
        f" ORDER BY identifier_type, identifier_value, wildcard",
        (order_id,),
    )


def find_reusable(
    conn: psycopg.Connection,
    account_id: UUID,
    identifiers: Sequence[tuple[str, str, bool]],
    *,
    valid_until: datetime,
    methods: Sequence[str],
) -> list[AuthzRow]:
    """The account's valid authorizations for any of (type, value, wildcard) that stay valid
    past `valid_until` and were validated by one of `methods`, longest-lived first (an index
    lookup per identifier)."""
    if not identifiers:
        return []
    return _all(
        conn,
        # One lookup on authorizations_reuse_idx per identifier, whatever the number of
        # valid authorizations the account holds: OFFSET 0 keeps the LATERAL subquery from
        # being flattened into a join that would filter the account's whole index range.
        f"SELECT {_A_COLS} FROM unnest(%s::text[], %s::text[], %s::boolean[]) AS i (t, v, w)"
        f" CROSS JOIN LATERAL (SELECT * FROM authorizations z WHERE z.account_id = %s"
        f" AND z.status = 'valid' AND z.identifier_type = i.t AND z.identifier_value = i.v"
        f" AND z.wildcard = i.w AND z.expires > %s AND EXISTS (SELECT 1 FROM challenges c"
        f" WHERE c.authorization_id = z.id AND c.status = 'valid' AND c.type = ANY(%s))"
        f" OFFSET 0) a ORDER BY a.expires DESC",
        (
            [i[0] for i in identifiers], [i[1] for i in identifiers], [i[2] for i in identifiers],
            account_id, valid_until, list(methods),
        ),
    )


def find_valid_for_names(
    conn: psycopg.Connection, account_id: UUID, names: list[tuple[str, str, bool]], now: datetime
) -> list[AuthzRow]:
    """Valid, unexpired authorizations of the account for any of (type, value, wildcard)."""
    if not names:
        return []
    return _all(
        conn,
        f"SELECT {_COLS} FROM authorizations WHERE account_id = %s AND status = 'valid'"
        f" AND expires > %s AND (identifier_type, identifier_value, wildcard) IN"
        f" (SELECT * FROM unnest(%s::text[], %s::text[], %s::boolean[]))",
        (account_id, now, [n[0] for n in names], [n[1] for n in names], [n[2] for n in names]),
    )


def transition(
    conn: psycopg.Connection,
    authz_id: UUID,
    *,
    from_status: str,
    to_status: str,
    expires: datetime | None = None,
    caa_checked_at: datetime | None = None,
) -> AuthzRow | None:
    """Compare-and-set the status (and optionally the expiry and the time CAA was checked);
    None when not `from_status`."""
    return _one(
        conn,
        f"UPDATE authorizations SET status = %s, expires = COALESCE(%s, expires),"
        f" caa_checked_at = COALESCE(%s, caa_checked_at), updated_at = now()"
        f" WHERE id = %s AND status = %s RETURNING {_COLS}",
        (to_status, expires, caa_checked_at, authz_id, from_status),
    )


def set_caa_checked(conn: psycopg.Connection, authz_ids: list[UUID], checked_at: datetime) -> None:
    """Record that CAA allowed issuance for these valid authorizations at `checked_at`."""
    conn.execute(
        "UPDATE authorizations SET caa_checked_at = %s WHERE id = ANY(%s) AND status = 'valid'",
        (checked_at, authz_ids),
    )


def validation_methods(conn: psycopg.Connection, authz_ids: list[UUID]) -> dict[UUID, str]:
    """The challenge type that validated each of these authorizations (those with one)."""
    if not authz_ids:
        return {}
    rows = conn.execute(
        "SELECT authorization_id, type FROM challenges WHERE authorization_id = ANY(%s)"
        " AND status = 'valid'",
        (authz_ids,),
    ).fetchall()
    return {row[0]: row[1] for row in rows}
