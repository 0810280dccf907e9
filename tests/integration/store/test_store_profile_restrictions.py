"""store/profile_restrictions.py: set replaces, lift removes, and an account is bound by its own
restriction and its EAB key's only."""
from __future__ import annotations

import uuid

import psycopg
import pytest

from acmeeh.store import new_order_checks
from acmeeh.store import profile_restrictions as store


def test_set_replaces_and_lift_removes(conn) -> None:
    first = store.set_restriction(conn, scope="eab", scope_id="kid-r", profiles=["a"],
                                  updated_by="ann")
    second = store.set_restriction(conn, scope="eab", scope_id="kid-r", profiles=["b", "c"],
                                   updated_by="bob")
    assert (second.profiles, second.updated_by) == (["b", "c"], "bob")
    assert second.updated_at >= first.updated_at
    assert store.get_restriction(conn, scope="eab", scope_id="kid-r") == second
    assert store.lift_restriction(conn, scope="eab", scope_id="kid-r") == second
    assert store.lift_restriction(conn, scope="eab", scope_id="kid-r") is None
    assert store.get_restriction(conn, scope="eab", scope_id="kid-r") is None


def test_an_account_sees_its_own_and_its_keys(conn) -> None:
    me, other = uuid.uuid4(), uuid.uuid4()
    store.set_restriction(conn, scope="account", scope_id=str(me), profiles=["a"], updated_by=None)
    store.set_restriction(conn, scope="account", scope_id=str(other), profiles=["b"],
                          updated_by=None)
    store.set_restriction(conn, scope="eab", scope_id="kid-me", profiles=["c"], updated_by=None)
    store.set_restriction(conn, scope="eab", scope_id=str(me), profiles=["d"], updated_by=None)
    found = new_order_checks.read(conn, account_id=me, eab_kid="kid-me").restrictions
    assert [(r.scope, r.profiles) for r in found] == [("account", ["a"]), ("eab", ["c"])]
    alone = new_order_checks.read(conn, account_id=me, eab_kid=None).restrictions
    assert [r.profiles for r in alone] == [["a"]]


@pytest.mark.parametrize(("scope", "profiles"), [("global", ["a"]), ("eab", [])],
                         ids=["unknown-scope", "empty-list"])
def test_the_table_refuses_what_means_nothing(conn, scope: str, profiles: list[str]) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        store.set_restriction(conn, scope=scope, scope_id="x", profiles=profiles, updated_by=None)
