"""admin_users and admin_tokens tables: the operators of the admin API and their bearer tokens."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from .db import fetch_all
from .filters import Where
from .paging import Page, order_by


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


_COLS = (
    "id, username, email, role, password_hash, disabled, failed_logins, locked_until,"
    " last_login_at, created_at, updated_at"
)


def _one(conn: psycopg.Connection, query: str, params: Any) -> AdminUserRow | None:
    with conn.cursor(row_factory=class_row(AdminUserRow)) as cur:
        return cur.execute(query, params).fetchone()  # type: ignore[arg-type]


def insert_user(
    conn: psycopg.Connection, user_id: UUID, *, username: str, email: str, role: str,
    password_hash: str,
) -> AdminUserRow | None:
    """Insert a user; None when the username is taken."""
    return _one(
        conn,
        f"INSERT INTO admin_users (id, username, email, role, password_hash)"
        f" VALUES (%s, %s, %s, %s, %s) ON CONFLICT (username) DO NOTHING RETURNING {_COLS}",
        (user_id, username, email, role, password_hash),
    )


def get_user(conn: psycopg.Connection, user_id: UUID) -> AdminUserRow | None:
    return _one(conn, f"SELECT {_COLS} FROM admin_users WHERE id = %s", (user_id,))


def find_user_by_name(conn: psycopg.Connection, username: str) -> AdminUserRow | None:
    return _one(conn, f"SELECT {_COLS} FROM admin_users WHERE username = %s", (username,))


def list_users(
    conn: psycopg.Connection, page: Page, *, role: str | None = None,
    disabled: bool | None = None,
) -> list[AdminUserRow]:
    """Newest first, one page (limit + 1 rows so the caller sees whether more follow)."""
    where = Where.after(page).equal("role", role).equal("disabled", disabled)
    return fetch_all(conn, AdminUserRow,
                     f"SELECT {_COLS} FROM admin_users WHERE {where} {order_by()} LIMIT %(limit)s",
                     where.params | {"limit": page.limit + 1})


def count_active_admins(conn: psycopg.Connection) -> int:
    row = conn.execute(
        "SELECT count(*) FROM admin_users WHERE role = 'admin' AND NOT disabled"
    ).fetchone()
    return int(row[0]) if row else 0


def lock_user(conn: psycopg.Connection, user_id: UUID) -> AdminUserRow | None:
    return _one(conn, f"SELECT {_COLS} FROM admin_users WHERE id = %s FOR UPDATE", (user_id,))


def update_user(
    conn: psycopg.Connection, user_id: UUID, *, role: str | None = None,
    email: str | None = None, disabled: bool | None = None,
) -> AdminUserRow | None:
    """Change the given fields (None = unchanged); re-enabling also clears the lockout."""
    return _one(
        conn,
        f"UPDATE admin_users SET role = COALESCE(%s, role), email = COALESCE(%s, email),"
        f" disabled = COALESCE(%s, disabled),"
        f" failed_logins = CASE WHEN %s IS FALSE THEN 0 ELSE failed_logins END,"
        f" locked_until = CASE WHEN %s IS FALSE THEN NULL ELSE locked_until END,"
        f" updated_at = now() WHERE id = %s RETURNING {_COLS}",
        (role, email, disabled, disabled, disabled, user_id),
    )


def set_password(conn: psycopg.Connection, user_id: UUID, password_hash: str) -> AdminUserRow | None:
    """New password hash; the lockout is lifted."""
    return _one(
        conn,
        f"UPDATE admin_users SET password_hash = %s, failed_logins = 0, locked_until = NULL,"
        f" updated_at = now() WHERE id = %s RETURNING {_COLS}",
        (password_hash, user_id),
    )


def record_failed_login(
    conn: psycopg.Connection, user_id: UUID, *, max_failures: int, now: datetime,
    lock_until: datetime,
) -> AdminUserRow | None:
    """Count a failure; reaching `max_failures` locks the user until `lock_until`.

    A lockout that has run out starts the count afresh (SET reads the old row values).
    """
    fresh = "CASE WHEN locked_until <= %(now)s THEN 1 ELSE failed_logins + 1 END"
    return _one(
        conn,
        f"UPDATE admin_users SET failed_logins = {fresh},"
        f" locked_until = CASE WHEN {fresh} >= %(max)s THEN %(until)s"
        f" WHEN locked_until <= %(now)s THEN NULL ELSE locked_until END,"
        f" updated_at = now() WHERE id = %(id)s RETURNING {_COLS}",
        {"now": now, "max": max_failures, "until": lock_until, "id": user_id},  # type: ignore[arg-type]
    )


def record_login(conn: psycopg.Connection, user_id: UUID, now: datetime) -> None:
    conn.execute(
        "UPDATE admin_users SET failed_logins = 0, locked_until = NULL, last_login_at = %s"
        " WHERE id = %s",
        (now, user_id),
    )


def insert_token(
    conn: psycopg.Connection, token_id: UUID, *, user_id: UUID, token_hash: str,
    expires_at: datetime,
) -> None:
    conn.execute(
        "INSERT INTO admin_tokens (id, user_id, token_hash, expires_at) VALUES (%s, %s, %s, %s)",
        (token_id, user_id, token_hash, expires_at),
    )


def find_live_token(conn: psycopg.Connection, token_hash: str, now: datetime) -> TokenOwner | None:
    """The unrevoked, unexpired token of an enabled user, or None."""
    with conn.cursor(row_factory=class_row(TokenOwner)) as cur:
        return cur.execute(
            "SELECT t.id AS token_id, t.expires_at, u.id AS user_id, u.username, u.role"
            " FROM admin_tokens t JOIN admin_users u ON u.id = t.user_id"
            " WHERE t.token_hash = %s AND t.revoked_at IS NULL AND t.expires_at > %s"
            " AND NOT u.disabled",
            (token_hash, now),
        ).fetchone()


def revoke_token(conn: psycopg.Connection, token_id: UUID, now: datetime) -> bool:
    return conn.execute(
        "UPDATE admin_tokens SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL",
        (now, token_id),
    ).rowcount == 1


def revoke_user_tokens(conn: psycopg.Connection, user_id: UUID, now: datetime) -> int:
    """Revoke every live token of the user (role change, password reset, disable)."""
    return conn.execute(
        "UPDATE admin_tokens SET revoked_at = %s WHERE user_id = %s AND revoked_at IS NULL",
        (now, user_id),
    ).rowcount



def delete_stale_tokens(conn: psycopg.Connection, before: datetime, limit: int) -> int:
    """Delete up to `limit` tokens that expired or were revoked before `before` (retention)."""
    return conn.execute(
        "DELETE FROM admin_tokens WHERE id IN (SELECT id FROM admin_tokens"
        " WHERE expires_at < %(before)s OR revoked_at < %(before)s LIMIT %(limit)s)",
        {"before": before, "limit": limit},
    ).rowcount
