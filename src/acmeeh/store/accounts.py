"""accounts table."""
from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from .db import fetch_one
from .records import AccountRow, columns

_COLS = columns(AccountRow)

GET = f"""
SELECT {_COLS} FROM accounts WHERE id = %(id)s
"""

FIND_BY_THUMBPRINT = f"""
SELECT {_COLS} FROM accounts WHERE thumbprint = %(thumbprint)s
"""

# newAccount; nothing when the key is registered already (a concurrent create won).
CREATE = f"""
INSERT INTO accounts (id, jwk, thumbprint, spki_sha256, status, contact, tos_agreed, eab_kid)
VALUES (%(id)s, %(jwk)s, %(thumbprint)s, %(spki_sha256)s, 'valid', %(contact)s, %(tos_agreed)s,
        %(eab_kid)s)
ON CONFLICT (thumbprint) DO NOTHING
RETURNING {_COLS}
"""

UPDATE_CONTACT = f"""
UPDATE accounts SET contact = %(contact)s, updated_at = now()
WHERE id = %(id)s AND status = 'valid'
RETURNING {_COLS}
"""

AGREE_TOS = f"""
UPDATE accounts SET tos_agreed = true, updated_at = now()
WHERE id = %(id)s AND status = 'valid'
RETURNING {_COLS}
"""

# valid → deactivated (RFC 8555 §7.3.6).
DEACTIVATE = f"""
UPDATE accounts SET status = 'deactivated', updated_at = now()
WHERE id = %(id)s AND status = 'valid'
RETURNING {_COLS}
"""

# keyChange (RFC 8555 §7.3.5): a compare-and-set on the old key.
CHANGE_KEY = f"""
UPDATE accounts SET jwk = %(jwk)s, thumbprint = %(thumbprint)s, spki_sha256 = %(spki_sha256)s,
       updated_at = now()
WHERE id = %(id)s AND thumbprint = %(old_thumbprint)s AND status = 'valid'
RETURNING {_COLS}
"""


class KeyInUse(Exception):
    """The new key is another account's: a roll-over lost the race to a concurrent one (or to
    a newAccount with that key). The caller's transaction is aborted."""


def get_account(conn: psycopg.Connection, account_id: UUID) -> AccountRow | None:
    return fetch_one(conn, AccountRow, GET, {"id": account_id})


def find_account_by_thumbprint(conn: psycopg.Connection, thumbprint: str) -> AccountRow | None:
    return fetch_one(conn, AccountRow, FIND_BY_THUMBPRINT, {"thumbprint": thumbprint})


def insert_account(
    conn: psycopg.Connection,
    account_id: UUID,
    *,
    jwk: dict[str, Any],
    thumbprint: str,
    spki_sha256: str,
    contact: list[str],
    tos_agreed: bool,
    eab_kid: str | None = None,
) -> AccountRow | None:
    """Insert a valid account; None when the key is already registered (concurrent create)."""
    return fetch_one(conn, AccountRow, CREATE, {
        "id": account_id, "jwk": Jsonb(jwk), "thumbprint": thumbprint, "spki_sha256": spki_sha256,
        "contact": contact, "tos_agreed": tos_agreed, "eab_kid": eab_kid,
    })


def update_contact(conn: psycopg.Connection, account_id: UUID, contact: list[str]) -> AccountRow | None:
    """Replace the contacts of a valid account."""
    return fetch_one(conn, AccountRow, UPDATE_CONTACT, {"id": account_id, "contact": contact})


def agree_tos(conn: psycopg.Connection, account_id: UUID) -> AccountRow | None:
    return fetch_one(conn, AccountRow, AGREE_TOS, {"id": account_id})


def set_deactivated(conn: psycopg.Connection, account_id: UUID) -> AccountRow | None:
    """valid → deactivated (RFC 8555 §7.3.6); None when the account was not valid."""
    return fetch_one(conn, AccountRow, DEACTIVATE, {"id": account_id})


def change_key(
    conn: psycopg.Connection,
    account_id: UUID,
    *,
    old_thumbprint: str,
    jwk: dict[str, Any],
    thumbprint: str,
    spki_sha256: str,
) -> AccountRow | None:
    """Swap the account key if it is still `old_thumbprint` (RFC 8555 §7.3.5).

    Raises KeyInUse when another account holds `thumbprint` (the unique key refused it).
    """
    try:
        return fetch_one(conn, AccountRow, CHANGE_KEY, {
            "id": account_id, "old_thumbprint": old_thumbprint, "jwk": Jsonb(jwk),
            "thumbprint": thumbprint, "spki_sha256": spki_sha256,
        })
    except psycopg.errors.UniqueViolation as exc:
        raise KeyInUse(thumbprint) from exc
