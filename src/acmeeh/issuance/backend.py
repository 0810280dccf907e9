"""The CA backend interface and the loader that builds one from `settings.ca`.

`CAError` (keyfiles.py) and `IssuedCertificate` (profiles.py) are defined lower in the room so
local.py can use them without an import cycle; import all of them from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from acmeeh.issuance.keyfiles import (
    CAError,
    IssuerKey,
    read_certificate,
    read_certificates,
    read_private_key,
)
from acmeeh.issuance.local import Clock, LocalCA, utc_now
from acmeeh.issuance.profiles import IssuedCertificate, LeafPlan, LeafProfile
from acmeeh.protocol.identifiers import Identifier
from acmeeh.protocol.status import IdentifierType, RevocationReason

__all__ = [
    "CABackend",
    "CAError",
    "IssuedCertificate",
    "LeafPlan",
    "LeafProfile",
    "load_backend",
    "test_sign",
]

# RFC 2606 §2: ".invalid" can never be a real name, so a test leaf cannot be misused.
TEST_SIGN_NAME = "test-sign.invalid"


@runtime_checkable
class CABackend(Protocol):
    """What the authority needs from a CA (authority.env.Env.ca): sign leaves, report health,
    show the issuer and its chain, hear of revocations.

    An implementation takes and returns plain values and touches no database; every failure
    is a CAError. `load_backend` builds the one `settings.ca` names.
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


def load_backend(
    ca_settings: Any,
    *,
    crl_url: str | None = None,
    ocsp_url: str | None = None,
    clock: Clock | None = None,
) -> CABackend:
    """Read and check the CA files named by `settings.ca`; return a ready backend.

    Raises CAError naming the setting and file: missing paths, unreadable files, a key file
    looser than 0600, a key that does not match the certificate, a certificate that is not a
    signing CA or is outside its validity, a ca.chain that does not link up.
    """
    if not ca_settings.certificate or not ca_settings.key:
        raise CAError("ca.certificate and ca.key are required")
    now = (clock or utc_now)()
    cert_path, key_path = Path(ca_settings.certificate), Path(ca_settings.key)
    certificate = read_certificate(cert_path, "ca.certificate")
    key = read_private_key(key_path, "ca.key", ca_settings.key_password)
    chain: list[x509.Certificate] = []
    if ca_settings.chain:
        chain = read_certificates(ca_settings.chain, "ca.chain")
    check_issuer(certificate, f"ca.certificate: {cert_path}", now)
    check_key_matches(certificate, key, f"ca.key: {key_path}", cert_path)
    if chain:
        check_chain(certificate, chain, f"ca.chain: {ca_settings.chain}")
    backend = LocalCA(
        certificate=certificate,
        key=key,
        chain=chain,
        backdate_seconds=ca_settings.backdate_seconds,
        hash_name=ca_settings.hash,
        crl_url=crl_url,
        ocsp_url=ocsp_url,
        clock=clock or utc_now,
    )
    backend.check()
    return backend


def check_issuer(certificate: x509.Certificate, label: str, now: datetime) -> None:
    """CAError unless the certificate may sign leaves now (RFC 5280 §4.2.1.9, §4.2.1.3)."""
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise CAError(f"{label} is not a CA certificate (basicConstraints cA=TRUE required)")
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
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
