"""One key policy for account keys and certificate keys (issue 11 item 2).

`key_problem` says which rule a public key breaks, or None. newAccount and keyChange turn its
answer into `badPublicKey`, finalize into `badCSR`; the detail names the rule. The same checks
apply to both; only the key types differ: account keys follow the JWS algorithms accepted
(`security.allowed_algorithms`), certificate keys `security.leaf_key_types`.

RSA: a modulus size from `security.rsa_key_sizes`, exponent 65537, no prime factor below
1000, not split by Fermat's method within 100 rounds (primes too close together), and not the
ROCA fingerprint (CVE-2017-15361). EC: an allowed curve; cryptography refuses a point off its
curve or the point at infinity when the key is loaded, which callers report as the rule
"not a point on the curve".
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

RSA_EXPONENT = 65537
SMALL_PRIME_BOUND = 1000
FERMAT_ROUNDS = 100
# What loading a key checks (cryptography refuses the rest), for details naming the rule.
UNUSABLE_RULE = "an EC point must lie on its curve and not be the identity; an RSA exponent must be odd and at least 3"
KEY_TYPES = ("RSA", "P-256", "P-384", "P-521", "Ed25519")
CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
# JWS algorithm → the key type it signs with (RFC 7518 §3.1, RFC 8037 §3.1).
ALG_KEY_TYPES = {
    "RS256": "RSA", "RS384": "RSA", "RS512": "RSA", "PS256": "RSA", "PS384": "RSA",
    "PS512": "RSA", "ES256": "P-256", "ES384": "P-384", "ES512": "P-521", "EdDSA": "Ed25519",
}  # fmt: skip
# The ROCA test primes: a modulus made by the flawed generator is, modulo each of them, a
# power of 65537 (Nemec et al., "The Return of Coppersmith's Attack", CCS 2017, §2.2).
_ROCA_PRIMES = (
    3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
)  # fmt: skip


@dataclass(frozen=True)
class KeyPolicy:
    """The key types accepted here and the RSA modulus sizes (in bits)."""

    key_types: frozenset[str]
    rsa_sizes: frozenset[int]


def account_policy(security: Any) -> KeyPolicy:
    """Account keys: the types the accepted JWS algorithms sign with."""
    types = {ALG_KEY_TYPES[a] for a in security.allowed_algorithms if a in ALG_KEY_TYPES}
    return KeyPolicy(frozenset(types), frozenset(security.rsa_key_sizes))


def certificate_policy(security: Any) -> KeyPolicy:
    """Certificate (CSR) keys: `security.leaf_key_types`."""
    return KeyPolicy(frozenset(security.leaf_key_types), frozenset(security.rsa_key_sizes))


def spki_sha256(public_key: Any) -> str:
    """Hex SHA-256 of a public key's SubjectPublicKeyInfo DER: how accounts, certificates and
    blocked keys are indexed, whatever the key's type."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def key_type(public_key: Any) -> str | None:
    """"RSA", "P-256", "P-384", "P-521", "Ed25519", or None for anything else."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return "RSA"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return CURVE_NAMES.get(public_key.curve.name)
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    return None


def key_problem(public_key: Any, policy: KeyPolicy) -> str | None:
    """The rule `public_key` breaks, as a sentence naming it; None when it is acceptable."""
    kind = key_type(public_key)
    if kind is None:
        return f"{_describe(public_key)} keys are not accepted"
    if kind not in policy.key_types:
        accepted = ", ".join(t for t in KEY_TYPES if t in policy.key_types) or "none"
        return f"{kind} keys are not accepted here (accepted: {accepted})"
    if kind == "RSA":
        return rsa_problem(public_key.public_numbers(), policy.rsa_sizes)
    return None


def rsa_problem(numbers: rsa.RSAPublicNumbers, sizes: Iterable[int]) -> str | None:
    """The RSA rule the public numbers break, or None."""
    n, e = numbers.n, numbers.e
    bits = n.bit_length()
    allowed = sorted(sizes)
    if bits not in allowed:
        listed = ", ".join(str(s) for s in allowed)
        return f"RSA modulus size {bits} is not one of the accepted sizes ({listed} bits)"
    if e != RSA_EXPONENT:
        return f"RSA public exponent must be {RSA_EXPONENT}, not {e}"
    if math.gcd(n, _small_primes_product()) != 1:
        return f"RSA modulus has a prime factor below {SMALL_PRIME_BOUND}"
    if fermat_factor(n, FERMAT_ROUNDS) is not None:
        return f"RSA modulus is split by Fermat's method within {FERMAT_ROUNDS} rounds (its primes are too close)"
    if roca_fingerprint(n):
        return "RSA key has the ROCA fingerprint (CVE-2017-15361): it was made by a broken generator"
    return None


def fermat_factor(n: int, rounds: int) -> tuple[int, int] | None:
    """(p, q) with p * q == n when n = a² - b² for one of the first `rounds` values of a from
    ⌈√n⌉ (close primes give away the key); else None."""
    a = math.isqrt(n)
    if a * a < n:
        a += 1
    for _ in range(rounds):
        b2 = a * a - n
        b = math.isqrt(b2)
        if b * b == b2:
            return a - b, a + b
        a += 1
    return None


def roca_fingerprint(n: int) -> bool:
    """True when, modulo every ROCA test prime, n lies in the subgroup 65537 generates."""
    return all(n % p in _roca_residues(p) for p in _ROCA_PRIMES)


@cache
def _roca_residues(p: int) -> frozenset[int]:
    found, value = set(), 1
    for _ in range(p):  # the subgroup has at most p - 1 elements
        found.add(value)
        value = value * RSA_EXPONENT % p
    return frozenset(found)


@cache
def _small_primes_product() -> int:
    sieve = bytearray([1]) * SMALL_PRIME_BOUND
    sieve[0:2] = b"\x00\x00"
    for i in range(2, math.isqrt(SMALL_PRIME_BOUND) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytearray(len(sieve[i * i :: i]))
    return math.prod(i for i, prime in enumerate(sieve) if prime)


def _describe(public_key: Any) -> str:
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return f"EC curve {public_key.curve.name}"
    if isinstance(public_key, ed448.Ed448PublicKey):
        return "Ed448"
    return type(public_key).__name__.removeprefix("_")
