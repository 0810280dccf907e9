"""The allowed transitions of orders, authorizations and challenges, and the status rules.

Every status change in ACMEEH goes through `move_*` here: the tables below are the one place
that says what may follow what (RFC 8555 §7.1.6, Figures 7-9).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from ..protocol.status import AuthzStatus, ChallengeStatus, OrderStatus
from ..store import authzs as authz_store
from ..store import certs as cert_store
from ..store import challenges as challenge_store
from ..store import intents as intent_store
from ..store import orders as order_store
from ..store.db import Connection
from ..store.certs import NewCertificate
from ..store.records import AuthzRow, CertificateRow, ChallengeRow, OrderRow
from ..store.webhooks import NewEvent

O, A, C = OrderStatus, AuthzStatus, ChallengeStatus
S = TypeVar("S", OrderStatus, AuthzStatus, ChallengeStatus)

ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    O.PENDING: frozenset({O.READY, O.INVALID}),
    O.READY: frozenset({O.PROCESSING, O.INVALID}),
    O.PROCESSING: frozenset({O.VALID, O.INVALID}),
    O.VALID: frozenset(),
    O.INVALID: frozenset(),
}

AUTHZ_TRANSITIONS: dict[AuthzStatus, frozenset[AuthzStatus]] = {
    A.PENDING: frozenset({A.VALID, A.INVALID, A.DEACTIVATED, A.EXPIRED}),
    A.VALID: frozenset({A.DEACTIVATED, A.EXPIRED, A.REVOKED}),
    A.INVALID: frozenset(),
    A.DEACTIVATED: frozenset(),
    A.EXPIRED: frozenset(),
    A.REVOKED: frozenset(),
}

CHALLENGE_TRANSITIONS: dict[ChallengeStatus, frozenset[ChallengeStatus]] = {
    C.PENDING: frozenset({C.PROCESSING}),
    # processing → pending puts a challenge back in line (shutdown, retry of a transient failure).
    C.PROCESSING: frozenset({C.VALID, C.INVALID, C.PENDING}),
    C.VALID: frozenset(),
    C.INVALID: frozenset(),
}


class IllegalTransition(RuntimeError):
    """A programming error: code asked for a move the tables forbid."""


def _check(table: Mapping[S, frozenset[S]], kind: str, frm: S, to: S) -> None:
    if to not in table.get(frm, frozenset()):
        raise IllegalTransition(f"{kind}: {frm} → {to} is not allowed")


def check_challenge_move(frm: ChallengeStatus, to: ChallengeStatus) -> None:
    _check(CHALLENGE_TRANSITIONS, "challenge", frm, to)


def move_order(
    conn: Connection,
    order_id: UUID,
    frm: OrderStatus,
    to: OrderStatus,
    *,
    error: dict[str, Any] | None = None,
    certificate_id: UUID | None = None,
) -> OrderRow | None:
    """Compare-and-set an order; None when it was no longer `frm`."""
    _check(ORDER_TRANSITIONS, "order", frm, to)
    return order_store.transition(
        conn, order_id, from_status=frm, to_status=to, error=error, certificate_id=certificate_id
    )


def start_issuance(
    conn: Connection, order_id: UUID, *, serial: str, names: list[str], not_before: datetime,
    not_after: datetime, spki_sha256: str,
) -> OrderRow | None:
    """ready → processing together with recording the issuance intent (one statement, so
    committed before the CA signs); None, and nothing recorded, when the order was no
    longer ready."""
    _check(ORDER_TRANSITIONS, "order", O.READY, O.PROCESSING)
    return intent_store.begin(
        conn, order_id, from_status=O.READY, to_status=O.PROCESSING, serial=serial,
        names=names, not_before=not_before, not_after=not_after, spki_sha256=spki_sha256,
    )


def complete_order(
    conn: Connection, order_id: UUID, certificate: NewCertificate, *,
    announcing: NewEvent | None = None,
) -> tuple[CertificateRow, OrderRow] | None:
    """processing → valid together with storing its certificate, deleting its issuance
    intent and recording the webhook event `announcing` (one statement); None, and nothing
    stored, when the order was no longer processing."""
    _check(ORDER_TRANSITIONS, "order", O.PROCESSING, O.VALID)
    return cert_store.store_and_complete_order(
        conn, certificate, order_id=order_id, from_status=O.PROCESSING, to_status=O.VALID,
        announcing=announcing,
    )


def pass_challenge(
    conn: Connection, challenge_id: UUID, authz_id: UUID, *, now: datetime, expires: datetime,
    records: list[dict[str, object]], caa_checked_at: datetime | None = None,
) -> tuple[ChallengeRow, AuthzRow | None] | None:
    """A passed validation: the challenge processing → valid, its authorization pending →
    valid (valid until `expires`) and each pending order whose authorizations are now all
    valid pending → ready, in one statement. The caller runs it outside any transaction
    (autocommit), as accept_challenge. Returns the challenge and the authorization when it
    moved; None, and nothing moved, when the challenge was no longer processing."""
    _check(CHALLENGE_TRANSITIONS, "challenge", C.PROCESSING, C.VALID)
    _check(AUTHZ_TRANSITIONS, "authorization", A.PENDING, A.VALID)
    _check(ORDER_TRANSITIONS, "order", O.PENDING, O.READY)
    passed = challenge_store.pass_with_authorization_and_orders(
        conn, challenge_id, authz_id, from_status=C.PROCESSING, to_status=C.VALID,
        authz_from=A.PENDING, authz_to=A.VALID, order_from=O.PENDING, order_to=O.READY,
        now=now, expires=expires, records=records, caa_checked_at=caa_checked_at,
    )
    if passed is None:
        return None
    _promote_late(conn, authz_id, passed)
    return passed.challenge, passed.authz


def accept_challenge(
    conn: Connection, challenge_id: UUID, authz_id: UUID, *, now: datetime, expires: datetime,
    caa_checked_at: datetime | None = None,
) -> tuple[ChallengeRow, AuthzRow] | None:
    """A challenge answered in trusted-network mode (challenges.auto_accept), stored as a
    passed validation: the challenge pending → processing → valid (the answer counted as an
    attempt) with its authorization pending → valid (valid until `expires`), and each pending
    order whose authorizations are now all valid pending → ready, in one statement. The
    caller runs it outside any transaction (autocommit): when an order's other authorizations
    were not all valid in that statement's snapshot, a second statement promotes what is
    complete once the first has committed. Returns the challenge and the authorization; None,
    and nothing moved, when either was no longer pending (or the authorization expired)."""
    _check(CHALLENGE_TRANSITIONS, "challenge", C.PENDING, C.PROCESSING)
    _check(CHALLENGE_TRANSITIONS, "challenge", C.PROCESSING, C.VALID)
    _check(AUTHZ_TRANSITIONS, "authorization", A.PENDING, A.VALID)
    _check(ORDER_TRANSITIONS, "order", O.PENDING, O.READY)
    accepted = challenge_store.accept_with_authorization_and_orders(
        conn, challenge_id, authz_id, from_status=C.PENDING, to_status=C.VALID,
        authz_from=A.PENDING, authz_to=A.VALID, order_from=O.PENDING, order_to=O.READY,
        now=now, expires=expires, caa_checked_at=caa_checked_at,
    )
    if accepted is None or accepted.authz is None:
        return None
    _promote_late(conn, authz_id, accepted)
    return accepted.challenge, accepted.authz


def _promote_late(conn: Connection, authz_id: UUID, passed: challenge_store.Passed) -> None:
    """The second statement of pass_challenge and accept_challenge: when an order's other
    authorizations were not all valid in the first one's snapshot, promote what is complete
    now that it has committed (of two last authorizations made valid at once, the later
    promotion sees both)."""
    if passed.incomplete:
        order_store.promote_completed(conn, authz_id, from_status=O.PENDING, to_status=O.READY)


def move_authz(
    conn: Connection, authz_id: UUID, frm: AuthzStatus, to: AuthzStatus, *, expires: datetime | None = None,
    caa_checked_at: datetime | None = None,
) -> AuthzRow | None:
    """Compare-and-set an authorization; None when it was no longer `frm`."""
    _check(AUTHZ_TRANSITIONS, "authorization", frm, to)
    return authz_store.transition(conn, authz_id, from_status=frm, to_status=to, expires=expires,
                                  caa_checked_at=caa_checked_at)


def authz_status(authz: AuthzRow, now: datetime) -> AuthzStatus:
    """RFC 8555 §7.1.6: a pending or valid authorization past its expiry is expired."""
    if authz.status in (A.PENDING, A.VALID) and authz.expires <= now:
        return A.EXPIRED
    return authz.status


def order_status(
    order: OrderRow, authz_statuses: Sequence[AuthzStatus], now: datetime
) -> OrderStatus:
    """RFC 8555 §7.1.6, the one rule for an order's status.

    invalid: expired before issuance, or any authorization is not pending/valid;
    ready: every authorization valid; pending: otherwise. processing/valid/invalid are final
    as stored (processing is resolved by finalize or by the stale-order recovery).
    """
    if order.status in (O.PROCESSING, O.VALID, O.INVALID):
        return order.status
    if order.expires <= now:
        return O.INVALID
    if any(s not in (A.PENDING, A.VALID) for s in authz_statuses):
        return O.INVALID
    if order.status == O.READY or all(s == A.VALID for s in authz_statuses):
        return O.READY
    return O.PENDING
