"""RSA keys that a key policy must refuse, built for real (the private key works, so a CSR or
a JWS made with one is well signed): primes close enough for Fermat's method, a small prime
factor, the ROCA structure (CVE-2017-15361), an odd modulus size, another exponent.

Primes come from a bounded search with Miller-Rabin (12 rounds: for random candidates of
these sizes a composite passing even one round is vanishingly rare).
"""
from __future__ import annotations

import math
import secrets
from functools import cache

from cryptography.hazmat.primitives.asymmetric import rsa

E = 65537
_SMALL = [p for p in range(3, 2000, 2) if all(p % d for d in range(3, math.isqrt(p) + 1, 2))]
# The primes 3..167 that ROCA's structure shows through (p ≡ 65537^a mod each of them).
ROCA_PRIMES = [p for p in _SMALL if p <= 167]
MAX_CANDIDATES = 200_000  # bounds every search


def is_probable_prime(n: int, rounds: int = 12) -> bool:
    if n < 2:
        return False
    for p in [2, *_SMALL[:100]]:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(secrets.randbelow(n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def next_prime(n: int) -> int:
    n |= 1
    for _ in range(MAX_CANDIDATES):
        if is_probable_prime(n):
            return n
        n += 2
    raise RuntimeError("no prime found")


def random_prime(bits: int) -> int:
    """A prime of exactly `bits` bits whose top two bits are set (products keep their size)."""
    return next_prime(secrets.randbits(bits) | (3 << (bits - 2)) | 1)


def private_key(p: int, q: int, e: int = E) -> rsa.RSAPrivateKey:
    phi = (p - 1) * (q - 1)
    d = pow(e, -1, phi)
    public = rsa.RSAPublicNumbers(e, p * q)
    numbers = rsa.RSAPrivateNumbers(
        p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q), public
    )
    return numbers.private_key(unsafe_skip_rsa_key_validation=True)


@cache
def fermat_weak(bits: int = 2048) -> rsa.RSAPrivateKey:
    """p and q the next primes after one another: a² - n is a square at once."""
    p = random_prime(bits // 2)
    return private_key(p, next_prime(p + 2))


@cache
def small_factor(bits: int = 2048) -> rsa.RSAPrivateKey:
    """n = 991 · q: a modulus of `bits` bits with a prime factor below 1000."""
    low, high = (1 << (bits - 1)) // 991 + 1, (1 << bits) // 991
    for _ in range(MAX_CANDIDATES):
        q = next_prime(low + secrets.randbelow(high - low))
        if (991 * q).bit_length() == bits and math.gcd(E, q - 1) == 1:
            return private_key(991, q)
    raise RuntimeError("no small-factor key found")


def _roca_prime(bits: int) -> int:
    m = math.prod(ROCA_PRIMES)
    for _ in range(MAX_CANDIDATES):
        g = pow(E, secrets.randbelow(m), m)
        k = (secrets.randbits(bits) | (3 << (bits - 2))) // m
        candidate = k * m + g
        if candidate.bit_length() == bits and math.gcd(E, candidate - 1) == 1 and is_probable_prime(candidate):
            return candidate
    raise RuntimeError("no ROCA-structured prime found")


@cache
def roca(bits: int = 2048) -> rsa.RSAPrivateKey:
    """p and q of the form k·M + (65537^a mod M), as the flawed generator made them."""
    return private_key(_roca_prime(bits // 2), _roca_prime(bits // 2))


@cache
def odd_size(bits: int = 2056) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(E, bits)


@cache
def exponent_3(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(3, bits)
