"""Authorizations (RFC 8555 §7.5): read with their challenges, deactivate."""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..protocol import problems
from ..protocol.status import AuthzStatus, OrderStatus
from ..store import authzs as authz_store
from ..store import challenges as challenge_store
from ..store import orders as order_store
from ..store.db import Connection
from ..store.records import AccountRow, AuthzRow, ChallengeRow
from . import events, states
from .env import Env


@dataclass(frozen=True)
class AuthzState:
    authz: AuthzRow
    status: AuthzStatus  # effective status (expiry applied)
    challenges: list[ChallengeRow]


def load_authz(conn: Connection, account: AccountRow, authz_id: uuid.UUID) -> AuthzRow:
    authz = authz_store.get_authorization(conn, authz_id)
    if authz is None or authz.account_id != account.id:
        raise problems.not_found()
    return authz


def authz_state(env: Env, account: AccountRow,
                found: tuple[AuthzRow, list[ChallengeRow]] | None) -> AuthzState:
    """The account's authorization as read with the signed request, its expiry applied; 404
    when it is missing or another account's."""
    if found is None or found[0].account_id != account.id:
        raise problems.not_found()
    authz, challenges = found
    return AuthzState(authz, states.authz_status(authz, env.clock()), challenges)


def deactivate(env: Env, account: AccountRow, authz_id: uuid.UUID) -> AuthzState:
    """pending|valid → deactivated (RFC 8555 §7.5.2); orders that needed it become invalid."""
    with env.pool.connection() as conn, conn.transaction():
        authz = load_authz(conn, account, authz_id)
        status = states.authz_status(authz, env.clock())
        if status not in (AuthzStatus.PENDING, AuthzStatus.VALID):
            raise problems.malformed(f"authorization is {status} and cannot be deactivated")
        moved = states.move_authz(conn, authz.id, authz.status, AuthzStatus.DEACTIVATED)
        if moved is None:
            raise problems.malformed("authorization changed concurrently; retry")
        invalidate_orders(conn, env, moved,
                          f"authorization for {authz.identifier_value} was deactivated")
        challenges = challenge_store.list_challenges(conn, [authz.id])
    return AuthzState(moved, moved.status, challenges)


def invalidate_orders(conn: Connection, env: Env, authz: AuthzRow, reason: str, *,
                      validation_error: Mapping[str, Any] | None = None) -> None:
    """Pending and ready orders that include a failed authorization become invalid. With a
    `validation_error` the authorization failed validation (the account is told by mail);
    otherwise it expired or was deactivated (webhook only)."""
    error = problems.unauthorized(reason).to_dict()
    for status in (OrderStatus.PENDING, OrderStatus.READY):
        for order in order_store.orders_for_authorization(conn, authz.id, status):
            moved = states.move_order(conn, order.id, status, OrderStatus.INVALID, error=error)
            if moved is not None:
                events.order_invalid(conn, env, moved, failed=validation_error is not None,
                                     validation_error=validation_error)
