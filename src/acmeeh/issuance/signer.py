"""Signer: a CA certificate and the key that signs with it (CRLs, OCSP answers, responder
certificates). The key may live in memory or in an HSM (backends/pkcs11_keys.py); either way
cryptography's builders call its `sign`."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from acmeeh.issuance.keyfiles import IssuerKey


@dataclass(frozen=True, repr=False)
class Signer:
    """A certificate and its private key; `hash` is None for Ed25519 (RFC 8410)."""

    certificate: x509.Certificate
    key: IssuerKey
    hash: hashes.HashAlgorithm | None
    delegated: bool = False

    def __repr__(self) -> str:  # never show the key
        kind = "delegated" if self.delegated else "issuer"
        return f"Signer({kind}, {self.certificate.subject.rfc4514_string()!r})"
