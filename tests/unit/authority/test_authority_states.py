"""The pure state machine of authority/states.py as tables (RFC 8555 §7.1.6, Figures 7-9).

Every (from, to) pair of each status vocabulary is either in the expected table below or must
be refused with IllegalTransition; the refusal happens before any database work, so no
connection is needed (a refused move never reaches the store).
"""
from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from acmeeh.authority import states
from acmeeh.protocol.status import AuthzStatus as A
from acmeeh.protocol.status import ChallengeStatus as C
from acmeeh.protocol.status import IdentifierType
from acmeeh.protocol.status import OrderStatus as O
from acmeeh.store.records import AuthzRow, OrderRow

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LATER, EARLIER = NOW + timedelta(hours=1), NOW - timedelta(seconds=1)

ORDER_ALLOWED = {
    (O.PENDING, O.READY), (O.PENDING, O.INVALID),
    (O.READY, O.PROCESSING), (O.READY, O.INVALID),
    (O.PROCESSING, O.VALID), (O.PROCESSING, O.INVALID),
}
AUTHZ_ALLOWED = {
    (A.PENDING, A.VALID), (A.PENDING, A.INVALID), (A.PENDING, A.DEACTIVATED), (A.PENDING, A.EXPIRED),
    (A.VALID, A.DEACTIVATED), (A.VALID, A.EXPIRED), (A.VALID, A.REVOKED),
}
CHALLENGE_ALLOWED = {
    (C.PENDING, C.PROCESSING),
    (C.PROCESSING, C.VALID), (C.PROCESSING, C.INVALID), (C.PROCESSING, C.PENDING),
}


def _table(allowed: set[tuple], kind: type) -> dict:
    return {s: frozenset(t for f, t in allowed if f == s) for s in kind}


@pytest.mark.parametrize(("table", "allowed", "kind"), [
    (states.ORDER_TRANSITIONS, ORDER_ALLOWED, O),
    (states.AUTHZ_TRANSITIONS, AUTHZ_ALLOWED, A),
    (states.CHALLENGE_TRANSITIONS, CHALLENGE_ALLOWED, C),
], ids=["order", "authz", "challenge"])
def test_tables_list_every_status_and_exactly_the_allowed_moves(table, allowed, kind) -> None:
    assert table == _table(allowed, kind)


@pytest.mark.parametrize(("frm", "to"), list(itertools.product(C, C)))
def test_challenge_moves(frm: C, to: C) -> None:
    if (frm, to) in CHALLENGE_ALLOWED:
        states.check_challenge_move(frm, to)
    else:
        with pytest.raises(states.IllegalTransition, match=f"challenge: {frm} → {to}"):
            states.check_challenge_move(frm, to)


@pytest.mark.parametrize(("frm", "to"), [p for p in itertools.product(O, O) if p not in ORDER_ALLOWED])
def test_refused_order_moves_never_reach_the_store(frm: O, to: O) -> None:
    with pytest.raises(states.IllegalTransition, match=f"order: {frm} → {to}"):
        states.move_order(None, uuid4(), frm, to)  # type: ignore[arg-type]


@pytest.mark.parametrize(("frm", "to"), [p for p in itertools.product(A, A) if p not in AUTHZ_ALLOWED])
def test_refused_authz_moves_never_reach_the_store(frm: A, to: A) -> None:
    with pytest.raises(states.IllegalTransition, match=f"authorization: {frm} → {to}"):
        states.move_authz(None, uuid4(), frm, to)  # type: ignore[arg-type]


def authz(status: A, expires: datetime = LATER) -> AuthzRow:
    return AuthzRow(id=uuid4(), account_id=uuid4(), identifier_type=IdentifierType.DNS,
                    identifier_value="a.example", wildcard=False, status=status, expires=expires,
                    created_at=NOW, updated_at=NOW, caa_checked_at=None)


def order(status: O, expires: datetime = LATER) -> OrderRow:
    return OrderRow(id=uuid4(), account_id=uuid4(), status=status, identifiers=[],
                    not_before=None, not_after=None, expires=expires, error=None,
                    certificate_id=None, replaces=None, created_at=NOW, updated_at=NOW)


@pytest.mark.parametrize(("stored", "expires", "effective"), [
    (A.PENDING, LATER, A.PENDING),
    (A.PENDING, EARLIER, A.EXPIRED),
    (A.PENDING, NOW, A.EXPIRED),  # expiry is inclusive
    (A.VALID, LATER, A.VALID),
    (A.VALID, EARLIER, A.EXPIRED),
    (A.INVALID, EARLIER, A.INVALID),  # final statuses stay as stored
    (A.DEACTIVATED, EARLIER, A.DEACTIVATED),
    (A.REVOKED, EARLIER, A.REVOKED),
    (A.EXPIRED, LATER, A.EXPIRED),
])
def test_authz_status(stored: A, expires: datetime, effective: A) -> None:
    assert states.authz_status(authz(stored, expires), NOW) is effective


@pytest.mark.parametrize(("stored", "expires", "authzs", "effective"), [
    (O.PENDING, LATER, [A.PENDING, A.VALID], O.PENDING),
    (O.PENDING, LATER, [A.VALID, A.VALID], O.READY),  # every authorization valid
    (O.PENDING, LATER, [], O.READY),
    (O.PENDING, LATER, [A.VALID, A.INVALID], O.INVALID),  # one failed: the order failed
    (O.PENDING, LATER, [A.PENDING, A.DEACTIVATED], O.INVALID),
    (O.PENDING, LATER, [A.EXPIRED], O.INVALID),
    (O.PENDING, LATER, [A.REVOKED], O.INVALID),
    (O.PENDING, EARLIER, [A.VALID], O.INVALID),  # expired before issuance
    (O.READY, LATER, [A.VALID], O.READY),
    (O.READY, LATER, [A.PENDING], O.READY),  # stored ready stays ready
    (O.READY, EARLIER, [A.VALID], O.INVALID),
    (O.PROCESSING, EARLIER, [A.INVALID], O.PROCESSING),  # final as stored
    (O.VALID, EARLIER, [A.EXPIRED], O.VALID),
    (O.INVALID, LATER, [A.VALID], O.INVALID),
])
def test_order_status(stored: O, expires: datetime, authzs: list[A], effective: O) -> None:
    assert states.order_status(order(stored, expires), authzs, NOW) is effective


def test_rows_carry_the_vocabulary_as_enums() -> None:
    """Rows built from text columns (as class_row does) hold the StrEnum members."""
    row = replace(order(O.PENDING), status="ready")  # type: ignore[arg-type]
    assert row.status is O.READY
    with pytest.raises(ValueError):
        replace(row, status="bogus")  # type: ignore[arg-type]
