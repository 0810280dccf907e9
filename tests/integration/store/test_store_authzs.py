"""store/authzs.py: the fused creation, the compare-and-set, the reuse and validity lookups."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from support.rows import NOW, account, create

from acmeeh.protocol.status import AuthzStatus as A
from acmeeh.store import authzs

LATER = NOW + timedelta(days=30)


def make(conn, owner, value: str = "a.example"):
    return authzs.insert_with_challenges(
        conn, uuid.uuid4(), account_id=owner, identifier_type="dns", identifier_value=value,
        wildcard=False, expires=LATER,
        challenges=[(uuid.uuid4(), "http-01", "t1"), (uuid.uuid4(), "dns-01", "t2")])


def validate(conn, authz, method: str = "http-01") -> None:
    conn.execute("UPDATE challenges SET status = 'valid' WHERE authorization_id = %s AND type = %s",
                 (authz.id, method))
    assert authzs.transition(conn, authz.id, from_status=A.PENDING, to_status=A.VALID) is not None


def test_create_with_challenges_and_read_back(conn) -> None:
    owner = account(conn)
    authz = make(conn, owner)
    assert authz.status is A.PENDING and authz.expires == LATER
    assert authzs.get_authorization(conn, authz.id) == authzs.lock_authorization(conn, authz.id)


def test_move_is_a_compare_and_set(conn) -> None:
    authz = make(conn, account(conn))
    moved = authzs.transition(conn, authz.id, from_status=A.PENDING, to_status=A.VALID,
                              expires=LATER + timedelta(days=1), caa_checked_at=NOW)
    assert moved is not None and moved.status is A.VALID
    assert (moved.expires, moved.caa_checked_at) == (LATER + timedelta(days=1), NOW)
    assert authzs.transition(conn, authz.id, from_status=A.PENDING, to_status=A.INVALID) is None
    authzs.set_caa_checked(conn, [authz.id], LATER)
    assert authzs.get_authorization(conn, authz.id).caa_checked_at == LATER


@pytest.mark.parametrize(("methods", "valid_until", "found"), [
    (["http-01"], NOW, True),
    (["dns-01"], NOW, False),  # validated by another method
    (["http-01"], LATER, False),  # does not stay valid long enough
])
def test_find_reusable(conn, methods, valid_until, found: bool) -> None:
    owner = account(conn)
    authz = make(conn, owner)
    validate(conn, authz)
    reusable = authzs.find_reusable(conn, owner, [("dns", "a.example", False)],
                                    valid_until=valid_until, methods=methods)
    assert [a.id for a in reusable] == ([authz.id] if found else [])
    assert authzs.find_reusable(conn, owner, [], valid_until=NOW, methods=methods) == []


def test_valid_for_names(conn) -> None:
    owner = account(conn)
    valid, _ = make(conn, owner, "a.example"), make(conn, owner, "b.example")
    validate(conn, valid, "dns-01")
    names = [("dns", "a.example", False), ("dns", "b.example", False)]
    assert [a.id for a in authzs.find_valid_for_names(conn, owner, names, NOW)] == [valid.id]


def test_order_authorizations_in_identifier_order(conn) -> None:
    order, _ = create(conn, account(conn), ["b.example", "a.example"])
    listed = authzs.list_order_authorizations(conn, order.id)
    assert [a.identifier_value for a in listed] == ["a.example", "b.example"]
