"""store/challenges.py: each compare-and-set of a challenge's status, and the reads."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from support.rows import NOW, account, create

from acmeeh.protocol.status import AuthzStatus as A
from acmeeh.protocol.status import ChallengeStatus as C
from acmeeh.protocol.status import OrderStatus as O
from acmeeh.store import challenges, orders

LATER = NOW + timedelta(minutes=1)


@pytest.fixture
def owner(conn) -> uuid.UUID:
    return account(conn)


@pytest.fixture
def challenge(conn, owner):
    _, (authz,) = create(conn, owner, ["a.example"])
    return challenges.list_challenges(conn, [authz.id])[0]


def test_reads(conn, challenge) -> None:
    assert challenges.get_challenge(conn, challenge.id) == challenge
    pair = challenges.get_with_authorization(conn, challenge.id, lock=True)
    assert pair is not None and pair[0] == challenge and pair[1].id == challenge.authorization_id
    found = challenges.get_for_validation(conn, challenge.id)
    assert found is not None and found[2] == found[1].account_id.hex  # support.rows thumbprint
    assert challenges.get_challenge(conn, uuid.uuid4()) is None


def test_set_processing_once(conn, challenge) -> None:
    moved = challenges.set_processing(conn, challenge.id, NOW)
    assert moved is not None and moved.status is C.PROCESSING and moved.attempts == 1
    assert moved.processing_since == NOW
    assert challenges.set_processing(conn, challenge.id, NOW) is None


@pytest.mark.parametrize(("cap", "answered"), [(1, False), (2, True)])
def test_answer_respects_the_accounts_cap(conn, owner, challenge, cap: int, answered: bool) -> None:
    _, (other,) = create(conn, owner, ["b.example"])
    busy = challenges.list_challenges(conn, [other.id])[0]
    assert challenges.set_processing(conn, busy.id, NOW) is not None
    moved = challenges.answer(conn, challenge.id, NOW, account_id=owner, max_pending=cap)
    assert (moved is not None) is answered


def test_unanswer_undoes_the_answer(conn, challenge) -> None:
    challenges.set_processing(conn, challenge.id, NOW)
    back = challenges.unanswer(conn, challenge.id)
    assert back is not None and back.status is C.PENDING and back.attempts == 0
    assert back.processing_since is None and challenges.unanswer(conn, challenge.id) is None


@pytest.mark.parametrize(("to", "validated"), [(C.VALID, True), (C.INVALID, False), (C.PENDING, False)])
def test_finish_records_the_outcome(conn, challenge, to: C, validated: bool) -> None:
    challenges.set_processing(conn, challenge.id, NOW)
    error = None if to is C.VALID else {"type": "urn:ietf:params:acme:error:connection"}
    done = challenges.finish(conn, challenge.id, to_status=to, now=LATER, error=error,
                             records=[{"url": "http://a.example/"}])
    assert done is not None and done.status is to and done.error == error
    assert done.validated_at == (LATER if validated else None)
    assert done.records == [{"url": "http://a.example/"}] and done.processing_since is None
    assert challenges.finish(conn, challenge.id, to_status=to, now=LATER, error=None,
                             records=[]) is None


def test_retry_later_and_keep_alive(conn, challenge) -> None:
    challenges.set_processing(conn, challenge.id, NOW)
    error = {"type": "urn:ietf:params:acme:error:connection"}
    later = challenges.retry_later(conn, challenge.id, now=NOW, retry_at=LATER, error=error,
                                   records=[])
    assert later is not None and later.status is C.PROCESSING
    assert (later.retries, later.retry_at, later.error) == (1, LATER, error)
    assert challenges.keep_alive(conn, [challenge.id, uuid.uuid4()], LATER) == 1
    assert challenges.get_challenge(conn, challenge.id).processing_since == LATER


def _pass(conn, challenge_id, authz_id):
    return challenges.pass_with_authorization_and_orders(
        conn, challenge_id, authz_id, from_status=C.PROCESSING, to_status=C.VALID,
        authz_from=A.PENDING, authz_to=A.VALID, order_from=O.PENDING, order_to=O.READY,
        now=LATER, expires=LATER + timedelta(days=30), records=[{"url": "http://a.example/"}],
        caa_checked_at=LATER)


@pytest.mark.parametrize(("authz_status", "moved"), [
    (A.PENDING, True),    # the authorization follows, and its order (all valid now)
    (A.VALID, False),     # already valid (another challenge passed): only the challenge moves
    (A.DEACTIVATED, False),
])
def test_pass_moves_challenge_authorization_and_order_in_one_statement(
        conn, owner, authz_status: A, moved: bool) -> None:
    order, (authz,) = create(conn, owner, ["a.example"])
    challenge = challenges.list_challenges(conn, [authz.id])[0]
    conn.execute("UPDATE authorizations SET status = %s WHERE id = %s", (authz_status, authz.id))
    challenges.set_processing(conn, challenge.id, NOW)
    passed = _pass(conn, challenge.id, authz.id)
    assert passed is not None and passed.incomplete == 0
    assert passed.challenge.status is C.VALID and passed.challenge.validated_at == LATER
    assert passed.challenge.error is None and passed.challenge.records == [{"url": "http://a.example/"}]
    assert passed.challenge.attempts == 1  # the answer counted it; passing does not
    assert (passed.authz is not None) is moved
    if moved:
        assert passed.authz.status is A.VALID and passed.authz.caa_checked_at == LATER
        assert passed.authz.expires == LATER + timedelta(days=30)
    status = conn.execute("SELECT status FROM authorizations WHERE id = %s", (authz.id,)).fetchone()
    assert status == ((A.VALID,) if moved else (authz_status,))
    assert orders.get_order(conn, order.id).status is (O.READY if moved else O.PENDING)


def test_pass_leaves_an_order_whose_other_authorization_is_pending(conn, owner) -> None:
    order, authzs = create(conn, owner, ["a.example", "b.example"])
    challenge = challenges.list_challenges(conn, [authzs[0].id])[0]
    challenges.set_processing(conn, challenge.id, NOW)
    passed = _pass(conn, challenge.id, authzs[0].id)
    assert passed is not None and passed.incomplete == 1
    assert orders.get_order(conn, order.id).status is O.PENDING


def test_pass_moves_nothing_unless_processing(conn, owner) -> None:
    _, (authz,) = create(conn, owner, ["a.example"])
    challenge = challenges.list_challenges(conn, [authz.id])[0]
    assert _pass(conn, challenge.id, authz.id) is None  # still pending: not answered
    assert challenges.get_challenge(conn, challenge.id).status is C.PENDING
    status = conn.execute("SELECT status FROM authorizations WHERE id = %s", (authz.id,)).fetchone()
    assert status == (A.PENDING,)


def _accept(conn, challenge_id, authz_id, now=LATER):
    return challenges.accept_with_authorization_and_orders(
        conn, challenge_id, authz_id, from_status=C.PENDING, to_status=C.VALID,
        authz_from=A.PENDING, authz_to=A.VALID, order_from=O.PENDING, order_to=O.READY,
        now=now, expires=LATER + timedelta(days=30), caa_checked_at=LATER)


def test_accept_moves_challenge_authorization_and_order_in_one_statement(conn, owner) -> None:
    order, (authz,) = create(conn, owner, ["a.example"])
    challenge = challenges.list_challenges(conn, [authz.id])[0]
    accepted = _accept(conn, challenge.id, authz.id)
    assert accepted is not None and accepted.incomplete == 0
    assert accepted.challenge.status is C.VALID and accepted.challenge.attempts == 1
    assert accepted.challenge.validated_at == LATER and accepted.challenge.records == []
    assert accepted.challenge.processing_since is None and accepted.challenge.error is None
    assert accepted.authz.status is A.VALID and accepted.authz.caa_checked_at == LATER
    assert accepted.authz.expires == LATER + timedelta(days=30)
    assert orders.get_order(conn, order.id).status is O.READY
    assert challenges.get_challenge(conn, challenge.id) == accepted.challenge


def test_accept_leaves_an_order_whose_other_authorization_is_pending(conn, owner) -> None:
    order, authzs = create(conn, owner, ["a.example", "b.example"])
    first, second = (challenges.list_challenges(conn, [a.id])[0] for a in authzs)
    accepted = _accept(conn, first.id, authzs[0].id)
    assert accepted is not None and accepted.incomplete == 1
    assert orders.get_order(conn, order.id).status is O.PENDING
    last = _accept(conn, second.id, authzs[1].id)  # the first is valid in its snapshot
    assert last is not None and last.incomplete == 0
    assert orders.get_order(conn, order.id).status is O.READY


@pytest.mark.parametrize(("challenge_status", "authz_status", "expired"), [
    (C.PROCESSING, A.PENDING, False),  # answered already (validating mode)
    (C.VALID, A.VALID, False),         # accepted already
    (C.PENDING, A.VALID, False),       # another challenge of the authorization was accepted
    (C.PENDING, A.DEACTIVATED, False),
    (C.PENDING, A.PENDING, True),      # the authorization expired
])
def test_accept_moves_nothing_unless_both_pending(conn, owner, challenge_status: C,
                                                  authz_status: A, expired: bool) -> None:
    order, (authz,) = create(conn, owner, ["a.example"])
    challenge = challenges.list_challenges(conn, [authz.id])[0]
    conn.execute("UPDATE challenges SET status = %s WHERE id = %s", (challenge_status, challenge.id))
    conn.execute("UPDATE authorizations SET status = %s WHERE id = %s", (authz_status, authz.id))
    assert _accept(conn, challenge.id, authz.id, now=authz.expires if expired else LATER) is None
    assert challenges.get_challenge(conn, challenge.id).status is challenge_status
    status = conn.execute("SELECT status FROM authorizations WHERE id = %s", (authz.id,)).fetchone()
    assert status == (authz_status,)
    assert orders.get_order(conn, order.id).status is O.PENDING


def test_accept_needs_the_challenge_of_that_authorization(conn, owner) -> None:
    _, (authz,) = create(conn, owner, ["a.example"])
    _, (other,) = create(conn, owner, ["b.example"])
    foreign = challenges.list_challenges(conn, [other.id])[0]
    assert _accept(conn, foreign.id, authz.id) is None
    assert challenges.get_challenge(conn, foreign.id).status is C.PENDING
