"""Building real JWS objects for protocol tests (josepy and cryptography keys, no fakes)."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from josepy import jwa
from josepy.jwk import JWKEC, JWKRSA

from acmeeh.protocol.jws import JWKOKP
from acmeeh.protocol.problems import Problem

ALL_ALGS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
DROP = object()  # a header member to leave out


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk_of(key):
    """josepy public JWK of a private key."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return JWKOKP(key=key.public_key())
    if isinstance(key, rsa.RSAPrivateKey):
        return JWKRSA(key=key.public_key())
    return JWKEC(key=key.public_key())


def sign(alg: str, key, data: bytes) -> bytes:
    if alg == "EdDSA":
        return key.sign(data)
    return jwa.JWASignature.from_json(alg).sign(key, data)


def flattened(key, header: dict, payload: bytes = b"{}", *, sign_alg: str | None = None) -> dict:
    """A flattened JWS (RFC 7515 §7.2.2) over `payload` with `header` as protected header."""
    protected = b64(json.dumps(header).encode())
    encoded = b64(payload)
    signature = sign(sign_alg or header["alg"], key, f"{protected}.{encoded}".encode())
    return {"protected": protected, "payload": encoded, "signature": b64(signature)}


def problem_of(call, *args, **kwargs) -> Problem:
    """The Problem `call` raises (fails the test if it raises none)."""
    with pytest.raises(Problem) as info:
        call(*args, **kwargs)
    return info.value
