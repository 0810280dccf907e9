"""store/finalize_checks.py: the CSR key's uses, the validation methods and the allowlist,
in one statement."""
from __future__ import annotations

import uuid

import pytest
from support.rows import account, create

from acmeeh.store import allowlists, blocked_keys, challenges, finalize_checks


@pytest.mark.parametrize(("key", "is_account", "blocked"), [
    ("fresh", False, False),
    ("account", True, False),
    ("blocked", False, True),
    ("both", True, True),
])
def test_key_uses(conn, key: str, is_account: bool, blocked: bool) -> None:
    owner, spki = account(conn), uuid.uuid4().hex * 2  # a sha-256 in hex
    if key in ("account", "both"):
        conn.execute("UPDATE accounts SET spki_sha256 = %s WHERE id = %s", (spki, owner))
    if key in ("blocked", "both"):
        blocked_keys.insert(conn, spki, source="admin", certificate_id=None, comment="",
                            created_by="test")
    found = finalize_checks.read(conn, spki, [], account_id=owner, eab_kid=None)
    assert (found.key.account, found.key.blocked) == (is_account, blocked)
    assert found.methods == {} and found.allowlist == []


def test_methods_name_the_valid_challenge_of_each_authorization(conn) -> None:
    owner = account(conn)
    _, (passed, waiting) = create(conn, owner, ["a.example", "b.example"])
    conn.execute("UPDATE challenges SET status = 'valid' WHERE authorization_id = %s"
                 " AND type = 'dns-01'", (passed.id,))
    found = finalize_checks.read(conn, uuid.uuid4().hex, [passed.id, waiting.id, uuid.uuid4()],
                                 account_id=owner, eab_kid=None)
    assert found.methods == {passed.id: "dns-01"}
    assert len(challenges.list_challenges(conn, [waiting.id])) == 2  # none valid: not named


def test_allowlist_entries_are_those_entries_for_gives(conn) -> None:
    owner, other = account(conn), account(conn)
    for scope, scope_id, value in [("global", "", "example.org"), ("account", str(owner), "a.example"),
                                   ("account", str(other), "b.example"), ("eab", "kid-1", "c.example"),
                                   ("eab", "kid-2", "d.example")]:
        allowlists.insert_entry(conn, uuid.uuid4(), scope=scope, scope_id=scope_id,
                                kind="suffix", value=value, created_by="test")
    spki = uuid.uuid4().hex * 2
    found = finalize_checks.read(conn, spki, [], account_id=owner, eab_kid="kid-1")
    expected = allowlists.entries_for(conn, account_id=owner, eab_kid="kid-1")
    assert found.allowlist == expected
    assert sorted(e.value for e in expected) == ["a.example", "c.example", "example.org"]
    assert not found.key.account and not found.key.blocked
