"""Admin users and their bearer tokens: create, log in and out, authenticate, change role,
reset password, disable. The admin room writes its own tables (users, tokens, audit)."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..authority import ratelimits
from ..authority.env import Env
from ..store import admin as admin_store
from ..store.admin import AdminUserRow, TokenOwner
from . import problems, security

ROLES = ("admin", "auditor")
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}$")
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")
LOGIN_FAILURES = "admin_login_failures_per_address"


@dataclass(frozen=True)
class LoginResult:
    token: str
    expires_at: datetime
    user: AdminUserRow


class LoginThrottled(Exception):
    """The client address used up its failed logins for the window (answered 429)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class LoginFailed(Exception):
    """Why a login was refused (for the audit log; the client only sees a generic 401)."""

    def __init__(self, reason: str, user: AdminUserRow | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.user = user


def check_user_fields(username: str, email: str, role: str) -> None:
    """400 unless username, email and role are acceptable (the CLI's check too)."""
    if not USERNAME.fullmatch(username):
        raise problems.bad_request("username: 1-64 of letters, digits, '.', '_', '-'")
    if not EMAIL.fullmatch(email):
        raise problems.bad_request("email: not an e-mail address")
    if role not in ROLES:
        raise problems.bad_request(f"role: one of {', '.join(ROLES)}")


def create_user(
    env: Env, *, username: str, email: str, role: str, password: str | None = None
) -> tuple[AdminUserRow, str]:
    """A new user and its password (generated unless given); 409 if the name is taken."""
    check_user_fields(username, email, role)
    password = password or security.generate_password()
    with env.pool.connection() as conn:
        row = admin_store.insert_user(conn, uuid.uuid4(), username=username, email=email,
                                      role=role, password_hash=security.hash_password(password))
    if row is None:
        raise problems.conflict(f"username {username!r} is taken")
    return row, password


def login(env: Env, username: str, password: str, dummy_hash: str,
          remote_addr: str | None = None) -> LoginResult:
    """A fresh token, or LoginFailed; LoginThrottled when the client address has used up its
    failed logins (admin_api.login_failures_per_address), before any password is checked.

    Two guards: per address, so one address can lock out only a few users, and per user
    (max_failed_logins consecutive failures lock the user for lockout_seconds), so many
    addresses together cannot guess one password. The attempt counts against the address
    until it succeeds.
    """
    cfg = env.settings.admin_api
    wait = ratelimits.take_address_attempt(env, LOGIN_FAILURES, remote_addr,
                                           limit=cfg.login_failures_per_address,
                                           window_seconds=cfg.login_window_seconds)
    if wait is not None:
        raise LoginThrottled(wait)
    result = _login(env, username, password, dummy_hash)
    ratelimits.give_back_address_attempt(env, LOGIN_FAILURES, remote_addr,
                                         window_seconds=cfg.login_window_seconds)
    return result


def _login(env: Env, username: str, password: str, dummy_hash: str) -> LoginResult:
    cfg = env.settings.admin_api
    now = env.clock()
    with env.pool.connection() as conn:
        user = admin_store.find_user_by_name(conn, username)
    if user is None:
        security.verify_password(password, dummy_hash)  # same cost as a real check
        raise LoginFailed("unknown user", None)
    good = security.verify_password(password, user.password_hash)
    if user.disabled:
        raise LoginFailed("user disabled", user)
    if user.locked_until is not None and user.locked_until > now:
        raise LoginFailed("user locked out", user)
    if not good:
        with env.pool.connection() as conn:
            admin_store.record_failed_login(
                conn, user.id, max_failures=cfg.max_failed_logins, now=now,
                lock_until=now + timedelta(seconds=cfg.lockout_seconds),
            )
        raise LoginFailed("bad password", user)
    token = security.new_token()
    expires = now + timedelta(seconds=cfg.token_lifetime_seconds)
    with env.pool.connection() as conn, conn.transaction():
        admin_store.record_login(conn, user.id, now)
        admin_store.insert_token(conn, uuid.uuid4(), user_id=user.id, expires_at=expires,
                                 token_hash=security.token_hash(_token_secret(env), token))
    return LoginResult(token, expires, user)


def authenticate(env: Env, authorization: str | None) -> TokenOwner:
    """The owner of the bearer token in an Authorization header (RFC 6750 §2.1), or 401."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not _TOKEN_SHAPE.match(token):
        raise problems.unauthorized()
    digest = security.token_hash(_token_secret(env), token)
    with env.pool.connection() as conn:
        owner = admin_store.find_live_token(conn, digest, env.clock())
    if owner is None:
        raise problems.unauthorized("the token is invalid, expired or revoked")
    return owner


def logout(env: Env, owner: TokenOwner) -> None:
    with env.pool.connection() as conn:
        admin_store.revoke_token(conn, owner.token_id, env.clock())


def load_user(env: Env, user_id: uuid.UUID) -> AdminUserRow:
    with env.pool.connection() as conn:
        row = admin_store.get_user(conn, user_id)
    if row is None:
        raise problems.not_found("no such user")
    return row


def update_user(
    env: Env, user_id: uuid.UUID, *, role: str | None = None, email: str | None = None,
    disabled: bool | None = None,
) -> AdminUserRow:
    """Change role, email or disabled. A role change or disabling revokes the user's tokens;
    the last enabled admin can be neither demoted nor disabled (409)."""
    with env.pool.connection() as conn, conn.transaction():
        current = admin_store.lock_user(conn, user_id)
        if current is None:
            raise problems.not_found("no such user")
        losing_admin = current.role == "admin" and not current.disabled and (
            (role is not None and role != "admin") or disabled is True)
        if losing_admin and admin_store.count_active_admins(conn) <= 1:
            raise problems.conflict("this is the last enabled admin")
        row = admin_store.update_user(conn, user_id, role=role, email=email, disabled=disabled)
        assert row is not None
        if (role is not None and role != current.role) or (disabled and not current.disabled):
            admin_store.revoke_user_tokens(conn, user_id, env.clock())
    return row


def reset_password(
    env: Env, user_id: uuid.UUID, password: str | None = None
) -> tuple[AdminUserRow, str]:
    """A new password (generated unless given); the lockout is lifted, every token revoked."""
    password = password or security.generate_password()
    with env.pool.connection() as conn, conn.transaction():
        row = admin_store.set_password(conn, user_id, security.hash_password(password))
        if row is None:
            raise problems.not_found("no such user")
        admin_store.revoke_user_tokens(conn, user_id, env.clock())
    return row, password


def _token_secret(env: Env) -> str:
    """admin_api.token_secret; the configuration checks require it whenever the API is on."""
    secret = env.settings.admin_api.token_secret
    if not secret:
        raise RuntimeError("admin_api.token_secret is not set")
    return secret
