"""profile_restrictions table: the certificate profiles an EAB key's account or an account
may use (the ACME profiles extension), set through the admin API."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg

from .db import fetch_all, fetch_one


@dataclass(frozen=True)
class ProfileRestrictionRow:
    scope: str  # eab | account
    scope_id: str  # the kid for eab, the account id for account
    profiles: list[str]
    updated_by: str | None
    updated_at: datetime


_COLS = "scope, scope_id, profiles, updated_by, updated_at"

SET_RESTRICTION = f"""
INSERT INTO profile_restrictions (scope, scope_id, profiles, updated_by, updated_at)
VALUES (%(scope)s, %(scope_id)s, %(profiles)s, %(updated_by)s, now())
ON CONFLICT (scope, scope_id) DO UPDATE
SET profiles = EXCLUDED.profiles, updated_by = EXCLUDED.updated_by, updated_at = now()
RETURNING {_COLS}
"""

LIFT_RESTRICTION = f"""
DELETE FROM profile_restrictions WHERE scope = %(scope)s AND scope_id = %(scope_id)s
RETURNING {_COLS}
"""

GET_RESTRICTION = f"""
SELECT {_COLS} FROM profile_restrictions WHERE scope = %(scope)s AND scope_id = %(scope_id)s
"""

FOR_ACCOUNT = f"""
SELECT {_COLS} FROM profile_restrictions
WHERE (scope = 'account' AND scope_id = %(account_id)s)
   OR (scope = 'eab' AND scope_id = %(eab_kid)s)
ORDER BY scope
"""


def set_restriction(
    conn: psycopg.Connection, *, scope: str, scope_id: str, profiles: list[str],
    updated_by: str | None,
) -> ProfileRestrictionRow:
    """Create or replace the restriction of one scope."""
    row = fetch_one(conn, ProfileRestrictionRow, SET_RESTRICTION,
                    {"scope": scope, "scope_id": scope_id, "profiles": profiles,
                     "updated_by": updated_by})
    assert row is not None  # an upsert always returns its row
    return row


def lift_restriction(
    conn: psycopg.Connection, *, scope: str, scope_id: str
) -> ProfileRestrictionRow | None:
    """Remove the restriction of one scope; None when it had none."""
    return fetch_one(conn, ProfileRestrictionRow, LIFT_RESTRICTION,
                     {"scope": scope, "scope_id": scope_id})


def get_restriction(
    conn: psycopg.Connection, *, scope: str, scope_id: str
) -> ProfileRestrictionRow | None:
    return fetch_one(conn, ProfileRestrictionRow, GET_RESTRICTION,
                     {"scope": scope, "scope_id": scope_id})
