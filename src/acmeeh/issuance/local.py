"""LocalCA: a CA backend whose signing key sits on local disk, loaded once at start-up."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from acmeeh.issuance.chains import intermediates
from acmeeh.issuance.keyfiles import CAError, IssuerKey
from acmeeh.issuance.profiles import (
    IssuedCertificate,
    LeafPlan,
    LeafProfile,
    build_leaf,
    describe,
    leaf_validity,
    to_pem,
)
from acmeeh.issuance.signer import Signer

if TYPE_CHECKING:
    from acmeeh.protocol.identifiers import Identifier
    from acmeeh.protocol.status import RevocationReason

HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def signature_hash(key: IssuerKey, name: str) -> hashes.HashAlgorithm | None:
    """The hash for certificate signatures; None for Ed25519, which hashes internally (RFC 8410)."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return None
    try:
        return HASHES[name]()
    except KeyError:
        raise CAError(f"ca.hash: unsupported hash {name!r}") from None


class LocalCA:
    """Signs leaves with an issuer key object. Immutable after construction, so thread-safe.

    The key is in memory (backend `file`) or a handle to a key in an HSM (backend `pkcs11`,
    whose key objects implement cryptography's private-key interface). The constructor trusts
    its inputs; the factories of issuance/backends/ check them.
    """

    def __init__(
        self,
        *,
        certificate: x509.Certificate,
        key: IssuerKey,
        chain: Sequence[x509.Certificate] = (),
        backdate_seconds: int = 60,
        hash_name: str = "sha256",
        crl_url: str | None = None,
        ocsp_url: str | None = None,
        clock: Clock = utc_now,
        backend_name: str = "file",
        state: Callable[[], Mapping[str, object]] | None = None,
    ) -> None:
        self._certificate = certificate
        self._key = key
        self._chain = tuple(chain)
        self._backdate_seconds = backdate_seconds
        self._hash = signature_hash(key, hash_name)
        self._crl_url = crl_url
        self._ocsp_url = ocsp_url
        self._clock = clock
        self._backend_name = backend_name
        self._state = state
        # RFC 8555 §7.4.2: the leaf's chain up to, not including, the trust anchor.
        self._chain_pem = "".join(to_pem(c) for c in intermediates((certificate, *self._chain)))

    def __repr__(self) -> str:  # never show the key
        return f"LocalCA({self._backend_name}, issuer={self._certificate.subject.rfc4514_string()!r})"

    @property
    def issuer_certificate(self) -> x509.Certificate:
        return self._certificate

    @property
    def chain_pem(self) -> str:
        """The issuer certificate then ca.chain, PEM, as sent after the leaf; no root."""
        return self._chain_pem

    def plan(self, profile: LeafProfile) -> LeafPlan:
        """A random serial (CA/B Forum BR 7.1: 64+ bits of entropy) and the validity of the
        next leaf of `profile`, from the clock now; CAError when the issuer cannot issue."""
        not_before, not_after = leaf_validity(
            self._clock(),
            self._certificate,
            backdate_seconds=self._backdate_seconds,
            validity_days=profile.validity_days,
        )
        return LeafPlan(x509.random_serial_number(), not_before, not_after)

    def sign(
        self,
        csr: x509.CertificateSigningRequest,
        identifiers: Sequence[Identifier],
        *,
        profile: LeafProfile,
        plan: LeafPlan | None = None,
    ) -> IssuedCertificate:
        """Issue a leaf of `profile` for the CSR's public key naming `identifiers`, with the
        serial and validity of `plan` (a fresh plan of `profile` when none is given).

        The caller has verified the CSR signature and compared its names with the order.
        Raises CAError when the CA cannot issue (expired issuer, bad key type, no identifiers).
        """
        plan = plan or self.plan(profile)
        builder = build_leaf(
            csr.public_key(),
            identifiers,
            issuer=self._certificate,
            not_before=plan.not_before,
            not_after=plan.not_after,
            serial=plan.serial,
            profile=profile,
            crl_url=self._crl_url,
            ocsp_url=self._ocsp_url,
        )
        try:
            leaf = builder.sign(self._key, self._hash)  # type: ignore[arg-type]
            # Belt and braces: a leaf that does not chain must never leave the CA.
            leaf.verify_directly_issued_by(self._certificate)
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise CAError(f"signing failed: {type(exc).__name__}") from None
        return describe(leaf, self._chain_pem)

    def revoked(self, certificate_der: bytes, reason: RevocationReason, when: datetime) -> None:
        """Nothing to tell anyone: this CA publishes revocations only through the CRL and OCSP
        answers built from the database record."""

    def health(self) -> Mapping[str, object]:
        """The backend's name for /healthz, and the state of where the key lives (an HSM's
        sessions) when the key is not in memory."""
        return {"backend": self._backend_name, **(self._state() if self._state else {})}

    def status_signer(self, hash_name: str) -> Signer:
        """The issuer certificate and key, with `hash_name` for CRLs and OCSP answers."""
        return Signer(self._certificate, self._key, signature_hash(self._key, hash_name))

    def check(self) -> None:
        """Raise CAError unless the issuer is in its validity period and the key still signs."""
        now = self._clock()
        if now >= self._certificate.not_valid_after_utc:
            expiry = self._certificate.not_valid_after_utc.isoformat()
            raise CAError(f"the CA certificate expired at {expiry}")
        blob = b"acmeeh health check " + secrets.token_bytes(16)
        try:
            verify_signature(self._certificate.public_key(), self._key, blob, self._hash)
        except (InvalidSignature, ValueError, TypeError):
            raise CAError(
                "the CA key cannot produce a signature the certificate verifies"
            ) from None


def verify_signature(
    public_key: object, key: IssuerKey, blob: bytes, hash_alg: hashes.HashAlgorithm | None
) -> None:
    """Sign `blob` with `key` and verify it with `public_key`; InvalidSignature on mismatch."""
    chosen = hash_alg or hashes.SHA256()
    if isinstance(key, rsa.RSAPrivateKey) and isinstance(public_key, rsa.RSAPublicKey):
        signature = key.sign(blob, padding.PKCS1v15(), chosen)
        public_key.verify(signature, blob, padding.PKCS1v15(), chosen)
    elif isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(
        public_key, ec.EllipticCurvePublicKey
    ):
        signature = key.sign(blob, ec.ECDSA(chosen))
        public_key.verify(signature, blob, ec.ECDSA(chosen))
    elif isinstance(key, ed25519.Ed25519PrivateKey) and isinstance(
        public_key, ed25519.Ed25519PublicKey
    ):
        public_key.verify(key.sign(blob), blob)
    else:
        raise InvalidSignature("key and certificate are of different types")
