"""The formats a certificate is downloaded in, chosen by the Accept header (RFC 8555 §7.4.2).

The PEM chain is ACME's own format (RFC 8555 §9.1); the DER leaf is application/pkix-cert
(RFC 2585 §4.1); a certs-only PKCS#7 SignedData of the leaf and its chain is
application/pkcs7-mime with smime-type=certs-only (RFC 8551 §3.2.2, §3.8), whose certificates
are a DER SET OF (RFC 2315 §9.1): all of them, in no promised order.
"""
from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

PEM_CHAIN = "application/pem-certificate-chain"
PKIX_CERT = "application/pkix-cert"
PKCS7 = "application/pkcs7-mime"
MEDIA_TYPES = (PEM_CHAIN, PKIX_CERT, PKCS7)  # the first is the default
CONTENT_TYPES = {
    PEM_CHAIN: PEM_CHAIN,
    PKIX_CERT: PKIX_CERT,
    PKCS7: f"{PKCS7}; smime-type=certs-only",
}


def encode(pem_chain: str, media_type: str) -> bytes:
    """The leaf-first PEM chain in `media_type` (one of MEDIA_TYPES; ValueError otherwise)."""
    if media_type == PEM_CHAIN:
        return pem_chain.encode("ascii")
    certificates = x509.load_pem_x509_certificates(pem_chain.encode("ascii"))
    if media_type == PKIX_CERT:
        return certificates[0].public_bytes(Encoding.DER)
    if media_type == PKCS7:
        return pkcs7.serialize_certificates(certificates, Encoding.DER)
    raise ValueError(f"unsupported media type {media_type!r}")
