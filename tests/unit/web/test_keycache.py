"""The account-key cache parses once per thumbprint and stays bounded."""
from __future__ import annotations

import josepy
from cryptography.hazmat.primitives.asymmetric import ec

from acmeeh.protocol import jws
from acmeeh.web.keycache import KeyCache


def _jwk() -> dict:
    return josepy.JWKEC(key=ec.generate_private_key(ec.SECP256R1()).public_key()).to_json()


def test_same_thumbprint_returns_the_same_parsed_key():
    cache, stored = KeyCache(), _jwk()
    first = cache.get("t1", stored)
    assert cache.get("t1", stored) is first
    assert jws.thumbprint(first) == jws.thumbprint(jws.parse_jwk(stored))


def test_least_recently_used_entry_is_dropped():
    cache = KeyCache(size=2)
    a, b, c = _jwk(), _jwk(), _jwk()
    key_a = cache.get("a", a)
    cache.get("b", b)
    cache.get("a", a)  # a is now the most recent
    cache.get("c", c)  # evicts b
    assert cache.get("a", a) is key_a
    assert jws.thumbprint(cache.get("b", b)) == jws.thumbprint(jws.parse_jwk(b))
