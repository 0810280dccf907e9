"""store/new_order_checks.py: maintenance mode, allowlist entries and profile restrictions in
one statement, each as its own read gives it."""
from __future__ import annotations

import uuid

import pytest
from support.rows import NOW

from acmeeh.store import allowlists, maintenance, new_order_checks, profile_restrictions

ENTRIES = [("global", "", "example.org"), ("account", "ME", "a.example"),
           ("account", "OTHER", "b.example"), ("eab", "kid-me", "c.example"),
           ("eab", "kid-other", "d.example")]


@pytest.mark.parametrize("with_entries", [False, True])
@pytest.mark.parametrize("restrictions", [0, 1, 2])
@pytest.mark.parametrize("eab_kid", [None, "kid-me"])
def test_read_gives_each_part_once(conn, with_entries: bool, restrictions: int,
                                   eab_kid: str | None) -> None:
    me, other = uuid.uuid4(), uuid.uuid4()
    if with_entries:
        for scope, scope_id, value in ENTRIES:
            scope_id = {"ME": str(me), "OTHER": str(other)}.get(scope_id, scope_id)
            allowlists.insert_entry(conn, uuid.uuid4(), scope=scope, scope_id=scope_id,
                                    kind="suffix", value=value, created_by="test")
    scopes = [("account", str(me), ["a"]), ("eab", "kid-me", ["a", "b"])][:restrictions]
    for scope, scope_id, profiles in scopes:
        profile_restrictions.set_restriction(conn, scope=scope, scope_id=scope_id,
                                             profiles=profiles, updated_by=None)
    found = new_order_checks.read(conn, account_id=me, eab_kid=eab_kid)
    assert found.allowlist == allowlists.entries_for(conn, account_id=me, eab_kid=eab_kid)
    assert sorted(e.value for e in found.allowlist) == sorted(
        (["a.example", "example.org"] + (["c.example"] if eab_kid else [])) if with_entries else [])
    bound = [(r.scope, r.profiles) for r in found.restrictions]
    assert bound == [(s, p) for s, i, p in scopes if s == "account" or eab_kid == i]
    assert found.maintenance is False


@pytest.mark.parametrize("enabled", [False, True])
def test_read_says_whether_maintenance_is_on(conn, enabled: bool) -> None:
    maintenance.set_maintenance(conn, enabled, changed_by="test", now=NOW)
    found = new_order_checks.read(conn, account_id=uuid.uuid4(), eab_kid=None)
    assert found.maintenance is enabled and found.allowlist == [] and found.restrictions == []
