"""A key that stays in a PKCS#11 token, seen through cryptography's private-key interface.

cryptography's builders (certificates, CRLs, OCSP responses) serialise the to-be-signed
structure with the signature algorithm of the key's type and hash, then call the key's
`sign(data, ...)`; for a subclass of its RSA or EC private-key class, that call lands here and
the token signs. So a leaf, a CRL and an OCSP answer come out as with a key in memory, and the
same self-check (the leaf verifies against the issuer's public key) runs after every leaf.

- RSA: PKCS#1 v1.5 with the hash done in the token (CKM_SHA256_RSA_PKCS and its SHA-384/512
  kin), the only RSA signature this CA makes (RFC 4055 PSS is never asked for).
- EC: the hash is computed here, CKM_ECDSA signs the digest and returns r||s (PKCS#11 v2.40
  §2.3.1), which becomes the DER ECDSA-Sig-Value of RFC 3279 §2.2.3.

The private half can never be read: private_bytes, private_numbers, decrypt and exchange raise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Self, TypeVar

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa, utils
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15, AsymmetricPadding
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    KeySerializationEncryption,
    PrivateFormat,
)
from pkcs11 import Mechanism

# The public half of a token key, as read from the token.
Public = TypeVar("Public", rsa.RSAPublicKey, ec.EllipticCurvePublicKey)

# sign(data, mechanism) through a pooled session (pkcs11_sessions.SessionPool.sign).
TokenSign = Callable[[bytes, Mechanism], bytes]

RSA_MECHANISMS = {
    "sha256": Mechanism.SHA256_RSA_PKCS,
    "sha384": Mechanism.SHA384_RSA_PKCS,
    "sha512": Mechanism.SHA512_RSA_PKCS,
}


def _stays_in_token() -> TypeError:
    return TypeError("the private key stays in the PKCS#11 token")


class _InToken(Generic[Public]):
    """What a token's RSA and EC key share: the token's sign function, the public half (read
    from the token), a name for repr, and a private half that is never handed out."""

    def __init__(self, token_sign: TokenSign, public: Public, name: str) -> None:
        self._sign = token_sign
        self._public: Public = public
        self._name = name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._name})"

    def public_key(self) -> Public:
        return self._public

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def private_bytes(self, encoding: Encoding, format: PrivateFormat,
                      encryption_algorithm: KeySerializationEncryption) -> bytes:
        raise _stays_in_token()

    def __copy__(self) -> Self:
        return self

    def __deepcopy__(self, memo: dict) -> Self:
        return self


class TokenRSAKey(_InToken[rsa.RSAPublicKey], rsa.RSAPrivateKey):
    """An RSA key in a token; `public` is its public half (read from the token)."""

    def sign(self, data: bytes | bytearray | memoryview, padding: AsymmetricPadding,
             algorithm: object) -> bytes:
        # `object`: cryptography's own type of this argument grew over its versions.
        if not isinstance(padding, PKCS1v15) or not isinstance(algorithm, hashes.HashAlgorithm):
            raise ValueError("the token signs RSA PKCS#1 v1.5 over the message only")
        mechanism = RSA_MECHANISMS.get(algorithm.name)
        if mechanism is None:
            raise ValueError(f"no PKCS#11 RSA mechanism for {algorithm.name}")
        return self._sign(bytes(data), mechanism)

    def decrypt(self, ciphertext: bytes, padding: AsymmetricPadding) -> bytes:
        raise _stays_in_token()

    def private_numbers(self) -> rsa.RSAPrivateNumbers:
        raise _stays_in_token()


class TokenECKey(_InToken[ec.EllipticCurvePublicKey], ec.EllipticCurvePrivateKey):
    """An EC key in a token; `public` is its public half (read from the token)."""

    def sign(self, data: bytes | bytearray | memoryview,
             signature_algorithm: ec.EllipticCurveSignatureAlgorithm) -> bytes:
        if not isinstance(signature_algorithm, ec.ECDSA):
            raise ValueError("the token signs ECDSA only")
        algorithm = signature_algorithm.algorithm
        if isinstance(algorithm, utils.Prehashed):
            digest = bytes(data)
        else:
            hasher = hashes.Hash(algorithm)
            hasher.update(data)
            digest = hasher.finalize()
        raw = self._sign(digest, Mechanism.ECDSA)
        half = len(raw) // 2
        if len(raw) % 2 or not half:
            raise ValueError(f"the token returned a {len(raw)}-byte ECDSA signature")
        return utils.encode_dss_signature(int.from_bytes(raw[:half], "big"),
                                          int.from_bytes(raw[half:], "big"))

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._public.curve

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        raise _stays_in_token()

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        raise _stays_in_token()
