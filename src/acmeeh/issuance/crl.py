"""Build and sign a complete CRL (RFC 5280 §5) with the CA key; no DB here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from acmeeh.issuance.keyfiles import CAError
from acmeeh.issuance.ocsp import REASONS
from acmeeh.issuance.profiles import authority_key_identifier
from acmeeh.issuance.signer import Signer


@dataclass(frozen=True)
class RevokedEntry:
    """One revokedCertificates entry (RFC 5280 §5.1.2.6)."""

    serial_number: int
    revoked_at: datetime
    reason: int


def build_crl(
    signer: Signer,
    entries: Iterable[RevokedEntry],
    *,
    number: int,
    this_update: datetime,
    next_update: datetime,
) -> bytes:
    """A v2 CRL (DER) listing `entries`, signed by the CA (the CRL issuer, RFC 5280 §5.1.2.3).

    Extensions: authorityKeyIdentifier (§5.2.1, MUST) and cRLNumber (§5.2.3, MUST); each entry
    carries reasonCode (§5.3.1) unless the reason is unspecified (0), which is then omitted.
    Raises CAError for a delegated signer or a bad number/time.
    """
    if signer.delegated:
        raise CAError("a CRL must be signed by the CA itself")
    if not 0 < number < 1 << 159:  # §5.2.3: at most 20 octets
        raise CAError(f"CRL number {number} is out of range")
    if next_update <= this_update:
        raise CAError("nextUpdate must be after thisUpdate")
    revoked_list: list[x509.RevokedCertificate] = []
    for entry in entries:
        revoked = (
            x509.RevokedCertificateBuilder()
            .serial_number(entry.serial_number)
            .revocation_date(entry.revoked_at.replace(microsecond=0))
        )
        flag = REASONS.get(entry.reason)
        if flag is not None:
            revoked = revoked.add_extension(x509.CRLReason(flag), critical=False)
        revoked_list.append(revoked.build())
    issuer = signer.certificate
    builder = (
        # All entries in one go: add_revoked_certificate copies the list each call (quadratic).
        x509.CertificateRevocationListBuilder(revoked_certificates=revoked_list)
        .issuer_name(issuer.subject)
        .last_update(this_update.replace(microsecond=0))
        .next_update(next_update.replace(microsecond=0))
        .add_extension(authority_key_identifier(issuer), critical=False)
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    crl = builder.sign(signer.key, signer.hash)  # type: ignore[arg-type]
    return crl.public_bytes(serialization.Encoding.DER)
