"""acmeeh.protocol.keys: one key policy for account and certificate keys (issue 11 item 2).

Each weak key is a real, working private key (tests/support/weak_keys.py); each refusal names
the rule it broke.
"""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from support import weak_keys

from acmeeh.protocol import keys
from acmeeh.protocol.keys import KeyPolicy, key_problem

ALL = frozenset(keys.KEY_TYPES)
SIZES = frozenset({2048, 3072, 4096})
POLICY = KeyPolicy(ALL, SIZES)


@pytest.fixture(scope="module")
def good_rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: weak_keys.odd_size(2056), "size 2056 is not one of the accepted sizes"),
        (lambda: rsa.generate_private_key(65537, 1024), "size 1024"),
        (lambda: weak_keys.exponent_3(), "exponent must be 65537, not 3"),
        (lambda: weak_keys.small_factor(), "prime factor below 1000"),
        (lambda: weak_keys.fermat_weak(), "Fermat's method within 100 rounds"),
        (lambda: weak_keys.roca(), "ROCA fingerprint"),
    ],
    ids=["odd-size", "too-small", "exponent-3", "small-factor", "fermat", "roca"],
)
def test_weak_rsa_keys_are_refused_naming_the_rule(make, fragment: str) -> None:
    assert fragment in (key_problem(make().public_key(), POLICY) or "")


def test_a_sound_rsa_key_passes_every_rule(good_rsa) -> None:
    numbers = good_rsa.public_key().public_numbers()
    assert key_problem(good_rsa.public_key(), POLICY) is None
    assert keys.fermat_factor(numbers.n, 100) is None
    assert not keys.roca_fingerprint(numbers.n)


def test_fermat_finds_the_factors() -> None:
    numbers = weak_keys.fermat_weak().private_numbers()
    n = numbers.public_numbers.n
    assert keys.fermat_factor(n, 100) == tuple(sorted((numbers.p, numbers.q)))


def test_rsa_sizes_come_from_the_policy(good_rsa) -> None:
    assert "2048" in (key_problem(good_rsa.public_key(), KeyPolicy(ALL, frozenset({3072}))) or "")


@pytest.mark.parametrize(
    ("key", "types", "ok"),
    [
        (ec.generate_private_key(ec.SECP256R1()), {"P-256"}, True),
        (ec.generate_private_key(ec.SECP384R1()), {"P-256"}, False),
        (ec.generate_private_key(ec.SECP521R1()), {"RSA", "P-256", "P-384"}, False),
        (ec.generate_private_key(ec.SECP256K1()), ALL, False),
        (ed25519.Ed25519PrivateKey.generate(), {"RSA", "P-256", "P-384"}, False),
        (ed25519.Ed25519PrivateKey.generate(), {"Ed25519"}, True),
        (ed448.Ed448PrivateKey.generate(), ALL, False),
    ],
    ids=["p256", "p384-not-listed", "p521-not-by-default", "secp256k1", "ed25519-not-by-default",
         "ed25519-listed", "ed448"],
)
def test_key_types(key, types, ok: bool) -> None:
    problem = key_problem(key.public_key(), KeyPolicy(frozenset(types), SIZES))
    assert (problem is None) == ok, problem
    if not ok:
        assert "not accepted" in problem


def test_account_key_types_follow_the_jws_algorithms() -> None:
    class Security:
        allowed_algorithms = ("RS256", "ES256", "EdDSA")
        rsa_key_sizes = (2048,)
        leaf_key_types = ("P-384",)

    assert keys.account_policy(Security).key_types == {"RSA", "P-256", "Ed25519"}
    assert keys.certificate_policy(Security).key_types == {"P-384"}
    assert keys.account_policy(Security).rsa_sizes == {2048}


def test_spki_sha256_is_the_certificate_form() -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    assert len(keys.spki_sha256(key)) == 64 and keys.spki_sha256(key) == keys.spki_sha256(key)
