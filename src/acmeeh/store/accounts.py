"""accounts table."""
from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from .records import AccountRow, columns

_COLS = columns(AccountRow)


class KeyInUse(Exception):
    """The new key is another account's: a roll-over lost the race to a concurrent one (or to
    a newAccount with that key). The caller's transaction is aborted."""


def _one(conn: psycopg.Connection, query: str, params: tuple[Any, ...]) -> AccountRow | None:
    with conn.cursor(row_factory=class_row(AccountRow)) as cur:
        return cur.execute(query, params).fetchone()  # type: ignore[arg-type]


def get_account(conn: psycopg.Connection, account_id: UUID) -> AccountRow | None:
    return _one(conn, f"SELECT {_COLS} FROM accounts WHERE id = %s", (account_id,))


def find_account_by_thumbprint(conn: psycopg.Connection, thumbprint: str) -> AccountRow | None:
    return _one(conn, f"SELECT {_COLS} FROM accounts WHERE thumbprint = %s", (thumbprint,))


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
    return _one(
        conn,
        f"INSERT INTO accounts (id, jwk, thumbprint, spki_sha256, status, contact, tos_agreed,"
        f" eab_kid) VALUES (%s, %s, %s, %s, 'valid', %s, %s, %s)"
        f" ON CONFLICT (thumbprint) DO NOTHING RETURNING {_COLS}",
        (account_id, Jsonb(jwk), thumbprint, spki_sha256, contact, tos_agreed, eab_kid),
    )


def update_contact(conn: psycopg.Connection, account_id: UUID, contact: list[str]) -> AccountRow | None:
    """Replace the contacts of a valid account."""
    return _one(
        conn,
        f"UPDATE accounts SET contact = %s, updated_at = now()"
        f" WHERE id = %s AND status = 'valid' RETURNING {_COLS}",
        (contact, account_id),
    )


def agree_tos(conn: psycopg.Connection, account_id: UUID) -> AccountRow | None:
    return _one(
        conn,
        f"UPDATE accounts SET tos_agreed = true, updated_at = now()"
        f" WHERE id = %s AND status = 'valid' RETURNING {_COLS}",
        (account_id,),
    )


def set_deactivated(conn: psycopg.Connection, account_id: UUID) -> AccountRow | None:
    """valid → deactivated (RFC 8555 §7.3.6); None when the account was not valid."""
    return _one(
        conn,
        f"UPDATE accounts SET status = 'deactivated', updated_at = now()"
        f" WHERE id = %s AND status = 'valid' RETURNING {_COLS}",
        (account_id,),
    )


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
        return _one(
            conn,
            f"UPDATE accounts SET jwk = %s, thumbprint = %s, spki_sha256 = %s, updated_at = now()"
            f" WHERE id = %s AND thumbprint = %s AND status = 'valid' RETURNING {_COLS}",
            (Jsonb(jwk), thumbprint, spki_sha256, account_id, old_thumbprint),
        )
    except psycopg.errors.UniqueViolation as exc:
        raise KeyInUse(thumbprint) from exc
