"""The CA backend interface, the checks every backend runs on its CA certificate, test-sign.

registry.py builds the backend `ca.backend` names.

`CAError` (keyfiles.py) and `IssuedCertificate` (profiles.py) are defined lower in the room so
local.py can use them without an import cycle; import all of them from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from acmeeh.issuance.keyfiles import CAError, CAUnavailable, IssuerKey
from acmeeh.issuance.local import Clock, utc_now
from acmeeh.issuance.profiles import IssuedCertificate, LeafPlan, LeafProfile, extension_value
from acmeeh.issuance.signer import Signer
from acmeeh.protocol.identifiers import Identifier
from acmeeh.protocol.status import IdentifierType, RevocationReason

__all__ = [
    "BackendContext",
    "CABackend",
    "CAError",
    "CAUnavailable",
    "IssuedCertificate",
    "LeafPlan",
    "LeafProfile",
    "Signer",
    "test_sign",
]

# RFC 2606 §2: ".invalid" can never be a real name, so a test leaf cannot be misused.
TEST_SIGN_NAME = "test-sign.invalid"


@dataclass(frozen=True)
class BackendContext:
    """What a backend needs besides settings.ca: the URLs to put in the leaves it signs
    (RFC 5280 §4.2.1.13 CRL distribution point, RFC 5280 §4.2.2.1 AIA OCSP) and the clock."""

    crl_url: str | None = None
    ocsp_url: str | None = None
    clock: Clock = utc_now


@runtime_checkable
class CABackend(Protocol):
    """What the authority needs from a CA (authority.env.Env.ca): sign leaves, report health,
    show the issuer and its chain, hear of revocations.

    An implementation takes and returns plain values and touches no database; every failure
    is a CAError. `registry.load_backend` builds the one `settings.ca.backend` names.
    """

    @property
    def issuer_certificate(self) -> x509.Certificate: ...

    @property
    def chain_pem(self) -> str:
        """Issuer PEM then ca.chain PEMs, trust anchors left out (what follows the leaf)."""
        ...

    def plan(self, profile: LeafProfile) -> LeafPlan:
        """The serial and validity of the next leaf of `profile` (its validity_days),
        decided before signing; CAError when the CA cannot issue now."""
        ...

    def sign(
        self,
        csr: x509.CertificateSigningRequest,
        identifiers: Sequence[Identifier],
        *,
        profile: LeafProfile,
        plan: LeafPlan | None = None,
    ) -> IssuedCertificate:
        """Issue a leaf for the CSR's key naming `identifiers`, shaped by `profile` (key
        usage, extended key usage, CN, lifetime; its `name` for a backend that maps profiles
        onto its own), with `plan`'s serial and validity when given; CAError when impossible."""
        ...

    def check(self) -> None:
        """Raise CAError when the backend cannot sign right now."""
        ...

    def revoked(self, certificate_der: bytes, reason: RevocationReason, when: datetime) -> None:
        """Called once after a revocation of a certificate this backend signed was stored
        (the CRL and OCSP answers come from that record). A backend that must tell another
        party (an upstream CA) does it here; CAError is logged, the revocation stands."""
        ...

    def health(self) -> Mapping[str, object]:
        """What /healthz shows of the backend beside the check's status: its name and state
        (an HSM's sessions, an upstream's reachability), JSON-ready, never a secret."""
        ...

    def status_signer(self, hash_name: str) -> Signer:
        """The CA certificate and a key that signs with it, for CRLs, OCSP answers and the
        delegated OCSP responder's certificate (RFC 5280 §5, RFC 6960); CAError when this CA
        publishes no revocation status of its own (an upstream CA does)."""
        ...


def check_issuer(certificate: x509.Certificate, label: str, now: datetime) -> None:
    """CAError unless the certificate may sign leaves now (RFC 5280 §4.2.1.9, §4.2.1.3)."""
    constraints = extension_value(certificate, x509.BasicConstraints)
    if constraints is None or not constraints.ca:
        raise CAError(f"{label} is not a CA certificate (basicConstraints cA=TRUE required)")
    usage = extension_value(certificate, x509.KeyUsage)
    if usage is None or not usage.key_cert_sign:
        raise CAError(f"{label} lacks the keyCertSign key usage")
    if now >= certificate.not_valid_after_utc:
        raise CAError(f"{label} expired at {certificate.not_valid_after_utc.isoformat()}")
    if now < certificate.not_valid_before_utc:
        raise CAError(f"{label} is not valid before {certificate.not_valid_before_utc.isoformat()}")


def check_key_matches(
    certificate: x509.Certificate, key: IssuerKey, label: str, cert_path: Path
) -> None:
    """CAError unless `key` is the private half of the certificate's public key."""
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    ours = key.public_key().public_bytes(serialization.Encoding.DER, spki)
    theirs = certificate.public_key().public_bytes(serialization.Encoding.DER, spki)
    if ours != theirs:
        raise CAError(f"{label} does not match the certificate in ca.certificate ({cert_path})")


def check_chain(
    certificate: x509.Certificate, chain: Sequence[x509.Certificate], label: str
) -> None:
    """CAError unless chain[0] issued the signing certificate and each next one the previous."""
    for index, (child, parent) in enumerate(zip((certificate, *chain), chain, strict=False)):
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature):
            what = "ca.certificate" if index == 0 else f"certificate {index} of the chain"
            raise CAError(
                f"{label}: certificate {index + 1} of the chain did not issue {what}"
            ) from None


def test_sign(backend: CABackend, profile: LeafProfile | None = None) -> IssuedCertificate:
    """Sign a throwaway P-256 leaf of `profile` (the schema's `tlsserver` when None) for
    "test-sign.invalid" (the `ca test-sign` command)."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, TEST_SIGN_NAME)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(TEST_SIGN_NAME)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    identifiers = [Identifier(IdentifierType.DNS, TEST_SIGN_NAME)]
    return backend.sign(csr, identifiers, profile=profile or LeafProfile())


# pytest would otherwise collect test_sign as a test when this module is imported in a test.
test_sign.__test__ = False  # type: ignore[attr-defined]
