"""store/accounts.py: creation once per key, the updates of a valid account, the key swap."""
from __future__ import annotations

import uuid

import pytest

from acmeeh.protocol.status import AccountStatus
from acmeeh.store import accounts


def create(conn, thumbprint: str | None = None):
    thumbprint = thumbprint or uuid.uuid4().hex
    return accounts.insert_account(conn, uuid.uuid4(), jwk={"kty": "test", "t": thumbprint},
                                   thumbprint=thumbprint, spki_sha256=thumbprint,
                                   contact=["mailto:a@example.com"], tos_agreed=False)


def test_create_once_per_key(conn) -> None:
    row = create(conn, "k1")
    assert row is not None and row.status is AccountStatus.VALID and not row.tos_agreed
    assert create(conn, "k1") is None  # a concurrent newAccount with the key lost
    assert accounts.get_account(conn, row.id) == row
    assert accounts.find_account_by_thumbprint(conn, "k1") == row


def test_updates_apply_to_valid_accounts_only(conn) -> None:
    row = create(conn)
    assert accounts.update_contact(conn, row.id, []).contact == []
    assert accounts.agree_tos(conn, row.id).tos_agreed
    gone = accounts.set_deactivated(conn, row.id)
    assert gone is not None and gone.status is AccountStatus.DEACTIVATED
    assert accounts.set_deactivated(conn, row.id) is None
    assert accounts.update_contact(conn, row.id, ["mailto:b@example.com"]) is None
    assert accounts.agree_tos(conn, row.id) is None


def test_change_key_is_a_compare_and_set_on_the_old_key(conn) -> None:
    row, other = create(conn), create(conn)
    moved = accounts.change_key(conn, row.id, old_thumbprint=row.thumbprint, jwk={"kty": "new"},
                                thumbprint="new", spki_sha256="new")
    assert moved is not None and (moved.thumbprint, moved.jwk) == ("new", {"kty": "new"})
    stale = accounts.change_key(conn, row.id, old_thumbprint=row.thumbprint, jwk={},
                                thumbprint="newer", spki_sha256="newer")
    assert stale is None  # the key changed meanwhile
    with pytest.raises(accounts.KeyInUse):
        accounts.change_key(conn, other.id, old_thumbprint=other.thumbprint, jwk={},
                            thumbprint="new", spki_sha256="x")
