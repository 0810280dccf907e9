"""OCSP requests by serial, and asking a running server about one (RFC 6960).

The CertID is computed here from the issuer certificate alone (SHA-1 of its subject DER and of
its public key's BIT STRING, RFC 6960 §4.1.1), not with the responder's own code, so a test
checks the responder against the RFC rather than against itself.
"""
from __future__ import annotations

import hashlib

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from .server import RunningServer

OCSP_REQUEST = "application/ocsp-request"
TIMEOUT = 30


def request_for_serial(issuer: x509.Certificate, serial: int, *,
                       nonce: bytes | None = None) -> bytes:
    """A DER OCSPRequest for `serial` under `issuer`, with an RFC 8954 nonce when given."""
    name_hash = hashlib.sha1(issuer.subject.public_bytes()).digest()  # noqa: S324 (RFC 6960)
    # The SHA-1 of the subjectPublicKey BIT STRING: RFC 5280 §4.2.1.2 method (1) computes it.
    key_hash = x509.SubjectKeyIdentifier.from_public_key(issuer.public_key()).digest  # type: ignore[arg-type]
    builder = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        name_hash, key_hash, serial, hashes.SHA1())
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def ocsp_status(server: RunningServer, serial: str) -> ocsp.OCSPResponse:
    """The server's successful OCSP answer about `serial` (hex), posted to its responder."""
    issuer = x509.load_pem_x509_certificate(server.ca_cert_path.read_bytes())
    response = requests.post(f"{server.base_url}/ocsp",
                             data=request_for_serial(issuer, int(serial, 16)),
                             headers={"Content-Type": OCSP_REQUEST}, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    answer = ocsp.load_der_ocsp_response(response.content)
    assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.serial_number == int(serial, 16)
    return answer
