"""store/finalize_checks.py: the CSR key's uses and the validation methods, in one statement."""
from __future__ import annotations

import uuid

import pytest
from support.rows import account, create

from acmeeh.store import blocked_keys, challenges, finalize_checks


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
    found = finalize_checks.key_uses_and_methods(conn, spki, [])
    assert (found.key.account, found.key.blocked) == (is_account, blocked)
    assert found.methods == {}


def test_methods_name_the_valid_challenge_of_each_authorization(conn) -> None:
    owner = account(conn)
    _, (passed, waiting) = create(conn, owner, ["a.example", "b.example"])
    conn.execute("UPDATE challenges SET status = 'valid' WHERE authorization_id = %s"
                 " AND type = 'dns-01'", (passed.id,))
    found = finalize_checks.key_uses_and_methods(conn, uuid.uuid4().hex,
                                                 [passed.id, waiting.id, uuid.uuid4()])
    assert found.methods == {passed.id: "dns-01"}
    assert len(challenges.list_challenges(conn, [waiting.id])) == 2  # none valid: not named
