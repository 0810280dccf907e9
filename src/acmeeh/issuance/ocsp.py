"""OCSP (RFC 6960): parse a request, check it names our CA, build and sign the response.

Pure functions on `cryptography.x509.ocsp`; the status comes from the caller (no DB here).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import OCSPExtensionOID

from acmeeh.issuance.signer import Signer

# RFC 6960 §4.2.1 OCSPResponseStatus, re-exported so callers need not import cryptography.
Status = ocsp.OCSPResponseStatus

# RFC 6960 §4.1.1 CertID hash algorithms we answer for (SHA-1 is what most clients send).
CERTID_HASHES = {"sha1": "sha1", "sha256": "sha256", "sha384": "sha384", "sha512": "sha512"}
# RFC 8954 §2.1: a nonce is 1 to 32 octets.
MAX_NONCE_BYTES = 32

# RFC 5280 §5.3.1 CRLReason codes (7 is unused). 0 (unspecified) is left out on purpose:
# the reason is omitted then (CA/B Forum BR §7.2.2, §7.3).
REASONS: dict[int, x509.ReasonFlags] = {
    1: x509.ReasonFlags.key_compromise,
    2: x509.ReasonFlags.ca_compromise,
    3: x509.ReasonFlags.affiliation_changed,
    4: x509.ReasonFlags.superseded,
    5: x509.ReasonFlags.cessation_of_operation,
    6: x509.ReasonFlags.certificate_hold,
    8: x509.ReasonFlags.remove_from_crl,
    9: x509.ReasonFlags.privilege_withdrawn,
    10: x509.ReasonFlags.aa_compromise,
}


class OCSPError(Exception):
    """A request we answer with an unsuccessful OCSPResponseStatus (RFC 6960 §4.2.1)."""

    def __init__(self, status: ocsp.OCSPResponseStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class OCSPQuery:
    """The single CertID of a request (RFC 6960 §4.1.1) and its nonce (RFC 8954)."""

    serial_number: int
    hash_algorithm: hashes.HashAlgorithm
    issuer_name_hash: bytes
    issuer_key_hash: bytes
    nonce: bytes | None


@dataclass(frozen=True)
class CertState:
    """certStatus (RFC 6960 §2.2): "good", "revoked" (with time and reason) or "unknown"."""

    kind: str
    revoked_at: datetime | None = None
    reason: int | None = None


GOOD = CertState("good")
UNKNOWN = CertState("unknown")


def _nonce(request: Any) -> bytes | None:
    """The request's nonce extension (RFC 8954), if it has one."""
    for ext in request.extensions:
        if ext.oid == OCSPExtensionOID.NONCE:
            return ext.value.nonce  # type: ignore[no-any-return]
    return None


def parse_request(der: bytes) -> OCSPQuery:
    """Decode a DER OCSPRequest with exactly one entry; OCSPError(MALFORMED_REQUEST) otherwise."""
    malformed = ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    try:
        request = ocsp.load_der_ocsp_request(der)
    except (ValueError, NotImplementedError) as exc:
        # cryptography raises NotImplementedError for a requestList of more than one entry.
        raise OCSPError(malformed, f"not a single-entry DER OCSP request: {exc}") from None
    try:
        algorithm = request.hash_algorithm
    except UnsupportedAlgorithm:
        raise OCSPError(malformed, "unsupported CertID hash algorithm") from None
    if algorithm.name not in CERTID_HASHES:
        raise OCSPError(malformed, f"unsupported CertID hash algorithm {algorithm.name}")
    nonce = _nonce(request)
    if nonce is not None and not 1 <= len(nonce) <= MAX_NONCE_BYTES:
        raise OCSPError(malformed, "the nonce must be 1 to 32 octets (RFC 8954)")
    return OCSPQuery(
        serial_number=request.serial_number,
        hash_algorithm=algorithm,
        issuer_name_hash=request.issuer_name_hash,
        issuer_key_hash=request.issuer_key_hash,
        nonce=nonce,
    )


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start, end) of the DER element at `pos` (definite lengths only)."""
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    return tag, pos, pos + length


def public_key_bits(certificate: x509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING value (without the unused-bits octet)."""
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _tag, start, _end = _tlv(spki, 0)
    _tag, _start, alg_end = _tlv(spki, start)
    tag, bits_start, bits_end = _tlv(spki, alg_end)
    if tag != 0x03:
        raise ValueError("SubjectPublicKeyInfo without a BIT STRING")
    return spki[bits_start + 1 : bits_end]


def issuer_hashes(issuer: x509.Certificate, algorithm: str) -> tuple[bytes, bytes]:
    """RFC 6960 §4.1.1: (hash of the issuer's DER name, hash of its public key bits)."""
    name_hash = hashlib.new(algorithm, issuer.subject.public_bytes()).digest()
    key_hash = hashlib.new(algorithm, public_key_bits(issuer)).digest()
    return name_hash, key_hash


def build_response(
    signer: Signer,
    query: OCSPQuery,
    state: CertState,
    *,
    this_update: datetime,
    next_update: datetime,
    nonce: bytes | None = None,
) -> bytes:
    """A signed BasicOCSPResponse (DER) for the query's CertID, echoed as received.

    A delegated signer's certificate goes in `certs` (RFC 6960 §4.2.2.2); the responder is
    identified by key hash (§4.2.2.3). `nonce` is echoed when given (RFC 8954 §2.1).
    """
    status = {
        "good": ocsp.OCSPCertStatus.GOOD,
        "revoked": ocsp.OCSPCertStatus.REVOKED,
        "unknown": ocsp.OCSPCertStatus.UNKNOWN,
    }[state.kind]
    revoked_at = state.revoked_at.replace(microsecond=0) if state.revoked_at else None
    reason = REASONS.get(state.reason or 0) if state.kind == "revoked" else None
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response_by_hash(
            issuer_name_hash=query.issuer_name_hash,
            issuer_key_hash=query.issuer_key_hash,
            serial_number=query.serial_number,
            algorithm=query.hash_algorithm,
            cert_status=status,
            this_update=this_update.replace(microsecond=0),
            next_update=next_update.replace(microsecond=0),
            revocation_time=revoked_at if state.kind == "revoked" else None,
            revocation_reason=reason,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, signer.certificate)
    )
    if signer.delegated:
        builder = builder.certificates([signer.certificate])
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    response = builder.sign(signer.key, signer.hash)  # type: ignore[arg-type]
    return response.public_bytes(serialization.Encoding.DER)


def unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    """An unsigned OCSPResponse carrying only an error status (RFC 6960 §4.2.1)."""
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(
        serialization.Encoding.DER
    )
