"""authorizations table."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import psycopg

from .db import fetch_all, fetch_one
from .records import AuthzRow, columns

_COLS = columns(AuthzRow)

# A pending authorization fused with its pending challenges (newAuthz): one statement.
CREATE_WITH_CHALLENGES = f"""
WITH a AS (
    INSERT INTO authorizations (id, account_id, identifier_type, identifier_value, wildcard,
                                status, expires)
    VALUES (%(id)s, %(account_id)s, %(identifier_type)s, %(identifier_value)s, %(wildcard)s,
            'pending', %(expires)s)
    RETURNING {_COLS}
), c AS (
    INSERT INTO challenges (id, authorization_id, type, token, status)
    SELECT u.id, a.id, u.type, u.token, 'pending'
    FROM a, unnest(%(c_id)s::uuid[], %(c_type)s::text[], %(c_token)s::text[])
         AS u (id, type, token)
)
SELECT {_COLS} FROM a
"""

GET = f"""
SELECT {_COLS} FROM authorizations WHERE id = %(id)s
"""

LOCK = f"""
SELECT {_COLS} FROM authorizations WHERE id = %(id)s FOR UPDATE
"""

OF_ORDER = f"""
SELECT {_COLS} FROM authorizations
WHERE id = ANY(ARRAY(SELECT authorization_id FROM order_authorizations
                     WHERE order_id = %(order_id)s))
ORDER BY identifier_type, identifier_value, wildcard
"""

# One lookup on authorizations_reuse_idx per identifier, whatever the number of valid
# authorizations the account holds: OFFSET 0 keeps the LATERAL subquery from being flattened
# into a join that would filter the account's whole index range.
REUSABLE = f"""
SELECT {columns(AuthzRow, 'a')}
FROM unnest(%(types)s::text[], %(values)s::text[], %(wildcards)s::boolean[]) AS i (t, v, w)
CROSS JOIN LATERAL (
    SELECT * FROM authorizations z
    WHERE z.account_id = %(account_id)s AND z.status = 'valid'
      AND z.identifier_type = i.t AND z.identifier_value = i.v AND z.wildcard = i.w
      AND z.expires > %(valid_until)s
      AND EXISTS (SELECT 1 FROM challenges c
                  WHERE c.authorization_id = z.id AND c.status = 'valid'
                    AND c.type = ANY(%(methods)s))
    OFFSET 0
) a
ORDER BY a.expires DESC
"""

VALID_FOR_NAMES = f"""
SELECT {_COLS} FROM authorizations
WHERE account_id = %(account_id)s AND status = 'valid' AND expires > %(now)s
  AND (identifier_type, identifier_value, wildcard) IN
      (SELECT * FROM unnest(%(types)s::text[], %(values)s::text[], %(wildcards)s::boolean[]))
"""

# Compare-and-set of an authorization's status (authority.states.move_authz).
MOVE = f"""
UPDATE authorizations SET status = %(to_status)s, expires = COALESCE(%(expires)s, expires),
       caa_checked_at = COALESCE(%(caa_checked_at)s, caa_checked_at), updated_at = now()
WHERE id = %(id)s AND status = %(from_status)s
RETURNING {_COLS}
"""

SET_CAA_CHECKED = """
UPDATE authorizations SET caa_checked_at = %(checked_at)s
WHERE id = ANY(%(ids)s) AND status = 'valid'
"""



def _columns_of(names: Sequence[tuple[str, str, bool]]) -> dict[str, list[object]]:
    """(type, value, wildcard) triples as the three arrays the statements unnest."""
    return {"types": [n[0] for n in names], "values": [n[1] for n in names],
            "wildcards": [n[2] for n in names]}


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
    row = fetch_one(conn, AuthzRow, CREATE_WITH_CHALLENGES, {
        "id": authz_id, "account_id": account_id, "identifier_type": identifier_type,
        "identifier_value": identifier_value, "wildcard": wildcard, "expires": expires,
        "c_id": [c[0] for c in challenges], "c_type": [c[1] for c in challenges],
        "c_token": [c[2] for c in challenges],
    })
    assert row is not None
    return row


def get_authorization(conn: psycopg.Connection, authz_id: UUID) -> AuthzRow | None:
    return fetch_one(conn, AuthzRow, GET, {"id": authz_id})


def lock_authorization(conn: psycopg.Connection, authz_id: UUID) -> AuthzRow | None:
    return fetch_one(conn, AuthzRow, LOCK, {"id": authz_id})


def list_order_authorizations(conn: psycopg.Connection, order_id: UUID) -> list[AuthzRow]:
    return fetch_all(conn, AuthzRow, OF_ORDER, {"order_id": order_id})


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
    return fetch_all(conn, AuthzRow, REUSABLE, _columns_of(identifiers) | {
        "account_id": account_id, "valid_until": valid_until, "methods": list(methods),
    })


def find_valid_for_names(
    conn: psycopg.Connection, account_id: UUID, names: list[tuple[str, str, bool]], now: datetime
) -> list[AuthzRow]:
    """Valid, unexpired authorizations of the account for any of (type, value, wildcard)."""
    if not names:
        return []
    return fetch_all(conn, AuthzRow, VALID_FOR_NAMES,
                     _columns_of(names) | {"account_id": account_id, "now": now})


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
    return fetch_one(conn, AuthzRow, MOVE, {
        "id": authz_id, "from_status": from_status, "to_status": to_status, "expires": expires,
        "caa_checked_at": caa_checked_at,
    })


def set_caa_checked(conn: psycopg.Connection, authz_ids: list[UUID], checked_at: datetime) -> None:
    """Record that CAA allowed issuance for these valid authorizations at `checked_at`."""
    conn.execute(SET_CAA_CHECKED, {"ids": authz_ids, "checked_at": checked_at})
