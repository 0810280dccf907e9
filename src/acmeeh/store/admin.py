"""admin_users and admin_tokens tables: the operators of the admin API and their bearer tokens."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg

from .db import fetch_one
from .filters import Where, fetch_page
from .paging import Page
from .records import columns


@dataclass(frozen=True)
class AdminUserRow:
    id: UUID
    username: str
    email: str
    role: str
    password_hash: str
    disabled: bool
    failed_logins: int
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class TokenOwner:
    """A live token joined with its user (what every authenticated request needs)."""

    token_id: UUID
    expires_at: datetime
    user_id: UUID
    username: str
    role: str


_COLS = columns(AdminUserRow)

INSERT_USER = f"""
INSERT INTO admin_users (id, username, email, role, password_hash)
VALUES (%(id)s, %(username)s, %(email)s, %(role)s, %(password_hash)s)
ON CONFLICT (username) DO NOTHING
RETURNING {_COLS}
"""

GET_USER = f"""
SELECT {_COLS} FROM admin_users WHERE id = %(id)s
"""

FIND_USER_BY_NAME = f"""
SELECT {_COLS} FROM admin_users WHERE username = %(username)s
"""

LOCK_USER = f"""
SELECT {_COLS} FROM admin_users WHERE id = %(id)s FOR UPDATE
"""

COUNT_ACTIVE_ADMINS = """
SELECT count(*) FROM admin_users WHERE role = 'admin' AND NOT disabled
"""

# None leaves a field unchanged; re-enabling (disabled = false) also lifts the lockout.
UPDATE_USER = f"""
UPDATE admin_users
SET role = COALESCE(%(role)s, role),
    email = COALESCE(%(email)s, email),
    disabled = COALESCE(%(disabled)s, disabled),
    failed_logins = CASE WHEN %(disabled)s IS FALSE THEN 0 ELSE failed_logins END,
    locked_until = CASE WHEN %(disabled)s IS FALSE THEN NULL ELSE locked_until END,
    updated_at = now()
WHERE id = %(id)s
RETURNING {_COLS}
"""

SET_PASSWORD = f"""
UPDATE admin_users
SET password_hash = %(password_hash)s, failed_logins = 0, locked_until = NULL, updated_at = now()
WHERE id = %(id)s
RETURNING {_COLS}
"""

# A lockout that has run out starts the count afresh (SET reads the old row values).
RECORD_FAILED_LOGIN = f"""
UPDATE admin_users
SET failed_logins = CASE WHEN locked_until <= %(now)s THEN 1 ELSE failed_logins + 1 END,
    locked_until = CASE
        WHEN (CASE WHEN locked_until <= %(now)s THEN 1 ELSE failed_logins + 1 END) >= %(max)s
            THEN %(until)s
        WHEN locked_until <= %(now)s THEN NULL
        ELSE locked_until END,
    updated_at = now()
WHERE id = %(id)s
RETURNING {_COLS}
"""

RECORD_LOGIN = """
UPDATE admin_users SET failed_logins = 0, locked_until = NULL, last_login_at = %(now)s
WHERE id = %(id)s
"""

INSERT_TOKEN = """
INSERT INTO admin_tokens (id, user_id, token_hash, expires_at)
VALUES (%(id)s, %(user_id)s, %(token_hash)s, %(expires_at)s)
"""

FIND_LIVE_TOKEN = """
SELECT t.id AS token_id, t.expires_at, u.id AS user_id, u.username, u.role
FROM admin_tokens t JOIN admin_users u ON u.id = t.user_id
WHERE t.token_hash = %(token_hash)s AND t.revoked_at IS NULL AND t.expires_at > %(now)s
  AND NOT u.disabled
"""

REVOKE_TOKEN = """
UPDATE admin_tokens SET revoked_at = %(now)s WHERE id = %(id)s AND revoked_at IS NULL
"""

REVOKE_USER_TOKENS = """
UPDATE admin_tokens SET revoked_at = %(now)s WHERE user_id = %(user_id)s AND revoked_at IS NULL
"""

DELETE_STALE_TOKENS = """
DELETE FROM admin_tokens WHERE id IN (
    SELECT id FROM admin_tokens
    WHERE expires_at < %(before)s OR revoked_at < %(before)s
    LIMIT %(limit)s)
"""


def insert_user(
    conn: psycopg.Connection, user_id: UUID, *, username: str, email: str, role: str,
    password_hash: str,
) -> AdminUserRow | None:
    """Insert a user; None when the username is taken."""
    return fetch_one(conn, AdminUserRow, INSERT_USER, {
        "id": user_id, "username": username, "email": email, "role": role,
        "password_hash": password_hash,
    })


def get_user(conn: psycopg.Connection, user_id: UUID) -> AdminUserRow | None:
    return fetch_one(conn, AdminUserRow, GET_USER, {"id": user_id})


def find_user_by_name(conn: psycopg.Connection, username: str) -> AdminUserRow | None:
    return fetch_one(conn, AdminUserRow, FIND_USER_BY_NAME, {"username": username})


def list_users(
    conn: psycopg.Connection, page: Page, *, role: str | None = None,
    disabled: bool | None = None,
) -> list[AdminUserRow]:
    """Newest first, one page (limit + 1 rows so the caller sees whether more follow)."""
    where = Where().equal("role", role).equal("disabled", disabled)
    return fetch_page(conn, AdminUserRow, "admin_users", page, where)


def count_active_admins(conn: psycopg.Connection) -> int:
    row = conn.execute(COUNT_ACTIVE_ADMINS).fetchone()
    return int(row[0]) if row else 0


def lock_user(conn: psycopg.Connection, user_id: UUID) -> AdminUserRow | None:
    return fetch_one(conn, AdminUserRow, LOCK_USER, {"id": user_id})


def update_user(
    conn: psycopg.Connection, user_id: UUID, *, role: str | None = None,
    email: str | None = None, disabled: bool | None = None,
) -> AdminUserRow | None:
    """Change the given fields (None = unchanged); re-enabling also clears the lockout."""
    return fetch_one(conn, AdminUserRow, UPDATE_USER,
                     {"role": role, "email": email, "disabled": disabled, "id": user_id})


def set_password(conn: psycopg.Connection, user_id: UUID, password_hash: str) -> AdminUserRow | None:
    """New password hash; the lockout is lifted."""
    return fetch_one(conn, AdminUserRow, SET_PASSWORD,
                     {"password_hash": password_hash, "id": user_id})


def record_failed_login(
    conn: psycopg.Connection, user_id: UUID, *, max_failures: int, now: datetime,
    lock_until: datetime,
) -> AdminUserRow | None:
    """Count a failure; reaching `max_failures` locks the user until `lock_until` (a lockout
    that has run out starts the count afresh)."""
    return fetch_one(conn, AdminUserRow, RECORD_FAILED_LOGIN,
                     {"now": now, "max": max_failures, "until": lock_until, "id": user_id})


def record_login(conn: psycopg.Connection, user_id: UUID, now: datetime) -> None:
    conn.execute(RECORD_LOGIN, {"now": now, "id": user_id})


def insert_token(
    conn: psycopg.Connection, token_id: UUID, *, user_id: UUID, token_hash: str,
    expires_at: datetime,
) -> None:
    conn.execute(INSERT_TOKEN, {"id": token_id, "user_id": user_id, "token_hash": token_hash,
                                "expires_at": expires_at})


def find_live_token(conn: psycopg.Connection, token_hash: str, now: datetime) -> TokenOwner | None:
    """The unrevoked, unexpired token of an enabled user, or None."""
    return fetch_one(conn, TokenOwner, FIND_LIVE_TOKEN, {"token_hash": token_hash, "now": now})


def revoke_token(conn: psycopg.Connection, token_id: UUID, now: datetime) -> bool:
    return conn.execute(REVOKE_TOKEN, {"now": now, "id": token_id}).rowcount == 1


def revoke_user_tokens(conn: psycopg.Connection, user_id: UUID, now: datetime) -> int:
    """Revoke every live token of the user (role change, password reset, disable)."""
    return conn.execute(REVOKE_USER_TOKENS, {"now": now, "user_id": user_id}).rowcount


def delete_stale_tokens(conn: psycopg.Connection, before: datetime, limit: int) -> int:
    """Delete up to `limit` tokens that expired or were revoked before `before` (retention)."""
    return conn.execute(DELETE_STALE_TOKENS, {"before": before, "limit": limit}).rowcount
