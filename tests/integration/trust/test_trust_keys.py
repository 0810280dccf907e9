"""One key policy for account keys and CSR keys (issue 11 item 2), over HTTP.

Every weak key is a real, working key (tests/support/weak_keys.py): the JWS or CSR it signs
verifies, so only the policy can refuse it. Account keys get badPublicKey at newAccount and
keyChange; CSR keys get badCSR at finalize, the order stays ready and nothing is signed.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from support import weak_keys
from support.acme_client import ERROR_PREFIX, AcmeClient, b64, expect, make_csr
from trust_support import nothing_signed, signed_for, unique

WEAK_RSA: dict[str, Callable[[], Any]] = {
    "odd-size-2056": lambda: weak_keys.odd_size(2056),
    "rsa-1024": lambda: rsa.generate_private_key(65537, 1024),
    "exponent-3": weak_keys.exponent_3,
    "small-prime-factor": weak_keys.small_factor,
    "fermat-close-primes": weak_keys.fermat_weak,
    "roca-fingerprint": weak_keys.roca,
}
RULES = {
    "odd-size-2056": "size 2056 is not one of the accepted sizes",
    "rsa-1024": "size 1024",
    "exponent-3": "exponent must be 65537",
    "small-prime-factor": "prime factor below 1000",
    "fermat-close-primes": "Fermat's method",
    "roca-fingerprint": "ROCA",
}


def problem(response, kind: str, status: int = 400) -> dict:
    body = response.json()
    assert (response.status_code, body["type"]) == (status, ERROR_PREFIX + kind), body
    return body


# --- account keys: newAccount and keyChange -------------------------------------------


@pytest.mark.parametrize("name", list(WEAK_RSA))
def test_new_account_with_a_weak_key_is_bad_public_key(trust_server, name: str) -> None:
    client = AcmeClient(trust_server.directory_url, key=WEAK_RSA[name]())
    body = problem(client.new_account(), "badPublicKey")
    assert RULES[name] in body["detail"]


@pytest.mark.parametrize("name", ["fermat-close-primes", "odd-size-2056"])
def test_key_change_to_a_weak_key_is_bad_public_key(trust_server, name: str) -> None:
    client = AcmeClient(trust_server.directory_url)
    expect(client.new_account(), 201)
    body = problem(client.key_change(WEAK_RSA[name]()), "badPublicKey")
    assert RULES[name] in body["detail"]
    expect(client.post(client.kid), 200)  # still the old key


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "EC", "crv": "P-256", "x": b64(b"\x01" * 32), "y": b64(b"\x02" * 32)},
        {"kty": "EC", "crv": "P-256", "x": b64(bytes(32)), "y": b64(bytes(32))},
    ],
    ids=["ec-point-off-curve", "ec-identity"],
)
def test_a_jwk_that_is_no_usable_key_is_bad_public_key(trust_server, jwk: dict) -> None:
    client = AcmeClient(trust_server.directory_url)
    response = client.post(client.url("newAccount"), {"termsOfServiceAgreed": True},
                           use_jwk=True, extra_protected={"jwk": jwk})
    assert "on its curve" in problem(response, "badPublicKey")["detail"]


# --- certificate keys: finalize ------------------------------------------------------


@pytest.fixture(scope="module")
def alice(trust_server) -> AcmeClient:
    client = AcmeClient(trust_server.directory_url)
    expect(client.new_account(), 201)
    return client


def ready_order(client: AcmeClient, http01) -> tuple[dict, list[str]]:
    names = [unique("key", zone="localhost")]
    created = expect(client.new_order(names), 201)
    client.complete_authorizations(created.json(), http01=http01)
    order = expect(client.poll(created.headers["Location"], {"ready"}), 200).json()
    assert order["status"] == "ready", order
    return {**order, "url": created.headers["Location"]}, names


@pytest.mark.parametrize("name", list(WEAK_RSA))
def test_csr_with_a_weak_rsa_key_is_bad_csr(trust_server, trust_http01, name: str) -> None:
    client = AcmeClient(trust_server.directory_url)
    expect(client.new_account(), 201)
    order, names = ready_order(client, trust_http01)
    csr, _ = make_csr(names, WEAK_RSA[name]())
    body = problem(client.finalize(order, csr), "badCSR")
    assert RULES[name] in body["detail"]
    assert expect(client.post(order["url"]), 200).json()["status"] == "ready"
    nothing_signed(trust_server, client)


@pytest.mark.parametrize(
    ("make_key", "rule"),
    [
        (lambda: ec.generate_private_key(ec.SECP521R1()), "P-521 keys are not accepted"),
        (lambda: ed25519.Ed25519PrivateKey.generate(), "Ed25519 keys are not accepted"),
        (lambda: ec.generate_private_key(ec.SECP256K1()), "secp256k1"),
    ],
    ids=["p521-not-enabled", "ed25519-not-enabled", "secp256k1"],
)
def test_csr_key_type_not_enabled_is_bad_csr(trust_server, trust_http01, make_key, rule) -> None:
    client = AcmeClient(trust_server.directory_url)
    expect(client.new_account(), 201)
    order, names = ready_order(client, trust_http01)
    csr, _ = make_csr(names, make_key())
    assert rule in problem(client.finalize(order, csr), "badCSR")["detail"]
    nothing_signed(trust_server, client)


def _sha1_csr(names: list[str]) -> bytes:
    key = rsa.generate_private_key(65537, 2048)
    good = x509.load_der_x509_csr(make_csr(names, key)[0])
    info = good.tbs_certrequest_bytes
    signature = key.sign(info, padding.PKCS1v15(), hashes.SHA1())

    def der(tag: int, body: bytes) -> bytes:
        n = len(body)
        size = bytes([n]) if n < 128 else bytes([0x82]) + n.to_bytes(2, "big")
        return bytes([tag]) + size + body

    algorithm = der(0x30, bytes.fromhex("06092a864886f70d0101050500"))  # sha1WithRSAEncryption
    return der(0x30, info + algorithm + der(0x03, b"\x00" + signature))


def test_csr_signed_with_sha1_is_bad_csr(trust_server, trust_http01) -> None:
    client = AcmeClient(trust_server.directory_url)
    expect(client.new_account(), 201)
    order, names = ready_order(client, trust_http01)
    body = problem(client.finalize(order, _sha1_csr(names)), "badCSR")
    assert "SHA-256 or stronger" in body["detail"]
    nothing_signed(trust_server, client)


@pytest.mark.parametrize("whose", ["own", "another"])
def test_csr_with_any_account_key_is_bad_csr(trust_server, trust_http01, alice, whose) -> None:
    """RFC 8555 §11.1, through the accounts' SPKI index: the key of any account, not only the
    requester's, never becomes a certificate key."""
    client = AcmeClient(trust_server.directory_url)
    expect(client.new_account(), 201)
    order, names = ready_order(client, trust_http01)
    csr, _ = make_csr(names, client.key if whose == "own" else alice.key)
    assert "key of an ACME account" in problem(client.finalize(order, csr), "badCSR")["detail"]
    nothing_signed(trust_server, client)


def test_a_key_that_left_an_account_by_key_change_stays_refused(trust_server, trust_http01) -> None:
    client = AcmeClient(trust_server.directory_url)
    expect(client.new_account(), 201)
    new_key = ec.generate_private_key(ec.SECP384R1())
    expect(client.key_change(new_key), 200)
    order, names = ready_order(client, trust_http01)
    csr, _ = make_csr(names, new_key)
    assert "key of an ACME account" in problem(client.finalize(order, csr), "badCSR")["detail"]


def test_a_sound_key_is_issued(trust_server, trust_http01) -> None:
    client = AcmeClient(trust_server.directory_url, key=rsa.generate_private_key(65537, 2048))
    expect(client.new_account(), 201)
    issued = client.obtain_certificate([unique("ok", zone="localhost")], http01=trust_http01,
                                       csr_key=rsa.generate_private_key(65537, 3072))
    leaf = x509.load_pem_x509_certificate(issued["pem"].encode())
    assert leaf.public_key().key_size == 3072
    assert signed_for(trust_server, client) == 1
