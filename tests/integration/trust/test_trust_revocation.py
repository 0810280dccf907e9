"""Revocation rules and blocked keys (issue 11 items 3 and 4), over HTTP.

Subscribers (owner, authorized account, certificate key) may give reasons 0, 1, 3, 4, 5; the
admin API any RFC 5280 reason but removeFromCRL and the CA ones. An authorized account needs a
valid authorization matching each name exactly, wildcard flag included. keyCompromise blocks
the key everywhere and revokes the account's other unexpired certificates carrying it.
Every refusal leaves the certificate good and signs nothing.
"""
from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from support.acme_client import ERROR_PREFIX, AcmeClient, expect, make_csr
from trust_support import account_id, db, nothing_signed, scalar, unique

from acmeeh.protocol import keys


def leaf(issued: dict) -> x509.Certificate:
    return x509.load_pem_x509_certificate(issued["pem"].encode())


def der(issued: dict) -> bytes:
    return leaf(issued).public_bytes(serialization.Encoding.DER)


def status(server, issued: dict) -> tuple:
    with db(server) as conn:
        return conn.execute("SELECT revoked_at IS NOT NULL, revocation_reason FROM certificates"
                            " WHERE serial = %s", (format(leaf(issued).serial_number, "x"),)
                            ).fetchone()


def problem(response, kind: str, status_code: int = 400) -> dict:
    body = response.json()
    assert (response.status_code, body["type"]) == (status_code, ERROR_PREFIX + kind), body
    return body


@pytest.fixture
def alice(trust_server) -> AcmeClient:
    client = AcmeClient(trust_server.directory_url)
    expect(client.new_account(), 201)
    return client


@pytest.fixture
def issued(alice, trust_http01) -> dict:
    return alice.obtain_certificate([unique("rev", zone="localhost")], http01=trust_http01)


# --- reasons ------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", [2, 6, 9, 10])
@pytest.mark.parametrize("who", ["owner", "certificate-key"])
def test_subscriber_reasons_are_limited(trust_server, alice, issued, reason, who) -> None:
    key = issued["key"] if who == "certificate-key" else None
    body = problem(alice.revoke(der(issued), reason=reason, key=key), "badRevocationReason")
    assert "keyCompromise" in body["detail"]
    assert status(trust_server, issued) == (False, None)


@pytest.mark.parametrize("reason", [None, 0, 3, 4, 5])
def test_subscriber_reasons_accepted(trust_server, alice, issued, reason) -> None:
    expect(alice.revoke(der(issued), reason=reason), 200)
    assert status(trust_server, issued) == (True, reason or 0)


@pytest.mark.parametrize(("reason", "ok"), [(2, False), (8, False), (10, False), (6, True),
                                            (9, True)])
def test_admin_reasons(trust_server, trust_admin, issued, reason, ok) -> None:
    with db(trust_server) as conn:
        cert_id = conn.execute("SELECT id FROM certificates WHERE serial = %s",
                               (format(leaf(issued).serial_number, "x"),)).fetchone()[0]
    response = trust_admin.post(f"/certificates/{cert_id}/revoke", {"reason": reason})
    assert response.status_code == (200 if ok else 400), response.text
    assert status(trust_server, issued) == ((True, reason) if ok else (False, None))


# --- an authorized account: exact identifiers, wildcard flag included ---------------------


def test_a_plain_authorization_cannot_revoke_a_wildcard_certificate(trust_server, trust_http01,
                                                                    alice) -> None:
    base = unique("wild")
    trust_server.dns.set_a(base, "127.0.0.1")
    wildcard = alice.obtain_certificate([f"*.{base}"], dns=trust_server.dns)
    plain = alice.obtain_certificate([base], http01=trust_http01)
    bob = AcmeClient(trust_server.directory_url)
    expect(bob.new_account(), 201)
    created = expect(bob.new_order([base]), 201).json()  # bob proves control of the base name
    bob.complete_authorizations(created, http01=trust_http01)

    problem(bob.revoke(der(wildcard)), "unauthorized", 403)
    assert status(trust_server, wildcard) == (False, None)
    expect(bob.revoke(der(plain)), 200)  # the exact identifier: allowed
    created = expect(bob.new_order([f"*.{base}"]), 201).json()  # now the wildcard itself
    bob.complete_authorizations(created, dns=trust_server.dns)
    expect(bob.revoke(der(wildcard)), 200)
    nothing_signed(trust_server, bob)


# --- keyCompromise: block the key, revoke its siblings -----------------------------------


def test_key_compromise_blocks_the_key_and_revokes_the_accounts_other_certificates(
        trust_server, trust_http01, trust_admin, alice) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    first, second = (alice.obtain_certificate([unique("kc", zone="localhost")],
                                               http01=trust_http01, csr_key=key) for _ in range(2))
    other_key = alice.obtain_certificate([unique("kc", zone="localhost")], http01=trust_http01)
    carol = AcmeClient(trust_server.directory_url)  # another account, same key
    expect(carol.new_account(), 201)
    carols = carol.obtain_certificate([unique("kc", zone="localhost")], http01=trust_http01,
                                      csr_key=key)

    expect(alice.revoke(der(first), reason=1, key=key), 200)  # signed by the certificate key
    assert status(trust_server, first) == (True, 1)
    assert status(trust_server, second) == (True, 1)  # same account, same key
    assert status(trust_server, other_key) == (False, None)
    assert status(trust_server, carols) == (False, None)  # another account's: left alone

    spki = keys.spki_sha256(key.public_key())
    blocked = expect(trust_admin.get(f"/blocked-keys/{spki}"), 200).json()
    assert (blocked["source"], blocked["created_by"]) == ("revocation", "certificate-key")

    # refused everywhere a key comes in
    dave = AcmeClient(trust_server.directory_url, key=key)
    assert "blocked" in problem(dave.new_account(), "badPublicKey")["detail"]
    assert "blocked" in problem(alice.key_change(key), "badPublicKey")["detail"]
    name = unique("kc", zone="localhost")
    created = expect(carol.new_order([name]), 201)
    carol.complete_authorizations(created.json(), http01=trust_http01)
    order = expect(carol.poll(created.headers["Location"], {"ready"}), 200).json()
    csr, _ = make_csr([name], key)
    assert "blocked" in problem(carol.finalize(order, csr), "badCSR")["detail"]
    with db(trust_server) as conn:
        signed = conn.execute("SELECT count(*) FROM certificates WHERE account_id ="
                              " (SELECT account_id FROM certificates WHERE serial = %s)",
                              (format(leaf(carols).serial_number, "x"),)).fetchone()[0]
    assert signed == 1  # only the one issued before the key was blocked


@pytest.mark.parametrize("who", ["owner", "operator"])
def test_key_compromise_by_the_owner_or_an_operator_blocks_the_key(trust_server, trust_admin,
                                                                     alice, issued, who) -> None:
    serial = format(leaf(issued).serial_number, "x")
    if who == "owner":  # kid-signed by the account (RFC 8555 §7.6)
        expect(alice.revoke(der(issued), reason=1), 200)
        by = f"account:{account_id(alice)}"
    else:
        cert_id = scalar(trust_server, "SELECT id FROM certificates WHERE serial = %s", serial)
        expect(trust_admin.post(f"/certificates/{cert_id}/revoke", {"reason": 1}), 200)
        by = "admin:trustroot"
    assert status(trust_server, issued) == (True, 1)
    spki = keys.spki_sha256(leaf(issued).public_key())
    blocked = expect(trust_admin.get(f"/blocked-keys/{spki}"), 200).json()
    assert (blocked["source"], blocked["created_by"]) == ("revocation", by)
    reuse = AcmeClient(trust_server.directory_url, key=issued["key"])
    assert "blocked" in problem(reuse.new_account(), "badPublicKey")["detail"]


def test_admin_blocks_and_unblocks_keys_audited(trust_server, trust_admin) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    spki = keys.spki_sha256(key.public_key())
    made = expect(trust_admin.post("/blocked-keys", {"public_key": pem, "comment": "lost laptop"}),
                  201)
    assert made.json()["spki_sha256"] == spki and made.json()["source"] == "admin"
    assert trust_admin.post("/blocked-keys", {"spki_sha256": spki.upper()}).status_code == 409
    listed = [k["spki_sha256"] for page in trust_admin.pages("/blocked-keys", {})
              for k in page["items"]]
    assert spki in listed
    client = AcmeClient(trust_server.directory_url, key=key)
    problem(client.new_account(), "badPublicKey")

    assert trust_admin.delete(f"/blocked-keys/{spki}").status_code == 204
    assert trust_admin.delete(f"/blocked-keys/{spki}").status_code == 404
    expect(client.new_account(), 201)
    actions = {(e["action"], e["outcome"]) for page in trust_admin.pages(
        "/audit", {"actor": "trustroot"}) for e in page["items"] if e["target"] == f"key:{spki}"}
    assert {("blocked_key.add", "success"), ("blocked_key.add", "failure"),
            ("blocked_key.remove", "success"), ("blocked_key.remove", "failure")} <= actions


@pytest.mark.parametrize("body", [{}, {"spki_sha256": "zz"}, {"public_key": "not pem"},
                                  {"spki_sha256": "a" * 64, "public_key": "x"}])
def test_admin_block_bad_input(trust_admin, body) -> None:
    assert trust_admin.post("/blocked-keys", body).status_code == 400
