"""store/signed_reads.py: one statement redeems the nonce, reads the account and reads the
resource, which comes back only to the account that owns it."""
from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

import pytest
from support.rows import NOW, account, create

from acmeeh.protocol.status import AccountStatus, OrderStatus
from acmeeh.store import (
    allowlists,
    authzs,
    certs,
    challenges,
    maintenance,
    new_order_checks,
    nonces,
    orders,
    profile_restrictions,
    signed_reads,
)
from acmeeh.store.certs import NewCertificate
from acmeeh.store.signed_reads import Reading


def issued(conn, owner: uuid.UUID, order_id: uuid.UUID) -> uuid.UUID:
    """A certificate of `owner` for its order, stored as finalize stores one."""
    conn.execute("UPDATE orders SET status = 'processing' WHERE id = %s", (order_id,))
    cert = NewCertificate(
        id=uuid.uuid4(), serial=uuid.uuid4().hex, account_id=owner, der=b"\x30\x00",
        pem_chain="-----BEGIN CERTIFICATE-----\n", names=["a.example"], not_before=NOW,
        not_after=NOW + timedelta(days=90), fingerprint="f" * 64, spki_sha256="s" * 64)
    assert certs.store_and_complete_order(conn, cert, order_id=order_id,
                                          from_status=OrderStatus.PROCESSING,
                                          to_status=OrderStatus.VALID) is not None
    return cert.id


def redeem(conn, owner: uuid.UUID, reading: Reading, value: str | None = None):
    return signed_reads.redeem_reading(conn, value or secrets.token_urlsafe(16), NOW, owner,
                                       reading)


def test_nothing_reads_the_account_and_redeems_once(conn) -> None:
    owner = account(conn)
    value = secrets.token_urlsafe(16)
    found, fresh, read = redeem(conn, owner, signed_reads.nothing(), value)
    assert fresh and found.id == owner and found.status is AccountStatus.VALID and read is None
    again, fresh, _ = redeem(conn, owner, signed_reads.nothing(), value)
    assert not fresh and again == found  # a replay still reads the account
    assert nonces.record_redeemed(conn, value, NOW) is False  # the same table as REDEEM
    nobody, fresh, _ = redeem(conn, uuid.uuid4(), signed_reads.nothing())
    assert fresh and nobody is None


def test_authorization_with_its_challenges_once_per_request(conn) -> None:
    owner = account(conn)
    _, (authz,) = create(conn, owner, ["a.example"])
    value = secrets.token_urlsafe(16)
    found, fresh, read = redeem(conn, owner, signed_reads.authorization(authz.id), value)
    assert fresh and found.id == owner
    assert read == (authzs.get_authorization(conn, authz.id),
                    challenges.list_challenges(conn, [authz.id]))
    assert [c.type for c in read[1]] == ["dns-01", "http-01"]  # two rows, one redeem; by type
    _, fresh, again = redeem(conn, owner, signed_reads.authorization(authz.id), value)
    assert not fresh and again == read


def test_order_with_its_authorizations(conn) -> None:
    owner = account(conn)
    order, _ = create(conn, owner, ["b.example", "a.example"])
    _, fresh, read = redeem(conn, owner, signed_reads.order(order.id))
    assert fresh and read == orders.get_with_authorizations(conn, order.id)
    assert [a.identifier_value for a in read[1]] == ["a.example", "b.example"]


def test_challenge_with_its_authorization(conn) -> None:
    owner = account(conn)
    _, (authz,) = create(conn, owner, ["a.example"])
    challenge = challenges.list_challenges(conn, [authz.id])[0]
    _, fresh, read = redeem(conn, owner, signed_reads.challenge(challenge.id))
    assert fresh and read == challenges.get_with_authorization(conn, challenge.id)


def test_certificate(conn) -> None:
    owner = account(conn)
    order, _ = create(conn, owner, ["a.example"])
    cert_id = issued(conn, owner, order.id)
    _, fresh, read = redeem(conn, owner, signed_reads.certificate(cert_id))
    assert fresh and read == certs.get_certificate(conn, cert_id)


@pytest.mark.parametrize("kind", ["authorization", "order", "challenge", "certificate"])
def test_anothers_or_a_missing_resource_reads_as_none(conn, kind: str) -> None:
    """The nonce is still redeemed and the account read; nothing of the resource leaves."""
    owner, other = account(conn), account(conn)
    order, (authz,) = create(conn, owner, ["a.example"])
    ids = {"authorization": authz.id, "order": order.id, "certificate": issued(conn, owner, order.id),
           "challenge": challenges.list_challenges(conn, [authz.id])[0].id}
    reading = getattr(signed_reads, kind)
    found, fresh, read = redeem(conn, other, reading(ids[kind]))
    assert fresh and found.id == other and read is None
    _, fresh, read = redeem(conn, owner, reading(uuid.uuid4()))
    assert fresh and read is None


ENTRIES = [("global", "", "example.org"), ("account", "ME", "a.example"),
           ("account", "OTHER", "b.example"), ("eab", "kid-me", "c.example"),
           ("eab", "kid-other", "d.example")]


@pytest.mark.parametrize("maintenance_on", [False, True])
@pytest.mark.parametrize("eab_kid", [None, "kid-me"])
def test_new_order_checks_as_new_order_checks_reads_them(conn, eab_kid: str | None,
                                                         maintenance_on: bool) -> None:
    me, other = account(conn), account(conn)
    conn.execute("UPDATE accounts SET eab_kid = %s WHERE id = %s", (eab_kid, me))
    for scope, scope_id, value in ENTRIES:
        scope_id = {"ME": str(me), "OTHER": str(other)}.get(scope_id, scope_id)
        allowlists.insert_entry(conn, uuid.uuid4(), scope=scope, scope_id=scope_id,
                                kind="suffix", value=value, created_by="test")
    for scope, scope_id, profiles in [("account", str(me), ["a"]), ("eab", "kid-me", ["a", "b"]),
                                      ("account", str(other), ["b"])]:
        profile_restrictions.set_restriction(conn, scope=scope, scope_id=scope_id,
                                             profiles=profiles, updated_by=None)
    maintenance.set_maintenance(conn, maintenance_on, changed_by="test", now=NOW)
    found, fresh, read = redeem(conn, me, signed_reads.new_order_checks_of_account())
    assert fresh and found.id == me
    assert read == new_order_checks.read(conn, account_id=me, eab_kid=eab_kid)
    assert read.maintenance is maintenance_on
    assert sorted(e.value for e in read.allowlist) == sorted(
        ["a.example", "example.org"] + (["c.example"] if eab_kid else []))
    assert [r.scope for r in read.restrictions] == ["account"] + (["eab"] if eab_kid else [])
