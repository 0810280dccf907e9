"""OCSP nonces (RFC 8954) cost a signature each, so they are configurable: off by default (the
nonce is left out and the answer comes from the responder's cache, RFC 8954 §2.1), and when on,
bounded by ocsp.nonce_signatures_per_second per process. Against running servers."""
from __future__ import annotations

import secrets
import time

from cryptography import x509
from cryptography.x509 import ocsp
from support.ocsp import request_for_serial

from .test_pki_ocsp import ca_cert, parsed, post

BURST = 12


def request_for(server, serial: int, nonce: bytes | None) -> bytes:
    """An OCSPRequest naming `serial` under the server's CA, with `nonce`."""
    return request_for_serial(ca_cert(server), serial, nonce=nonce)


def nonce_of(response: ocsp.OCSPResponse) -> bytes | None:
    try:
        return response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        return None


def test_nonces_are_off_by_default_and_answers_come_from_the_cache(acme_server) -> None:
    """Requests with different nonces get the same signed response (one per gunicorn worker,
    each has its cache), without nonce, cacheable like any other (the default configuration
    of the session server)."""
    serial = secrets.randbits(120) | 1
    answers = [post(acme_server, request_for(acme_server, serial, secrets.token_bytes(16)))
               for _ in range(BURST)]
    assert len({a.content for a in answers}) <= acme_server.config["server"]["workers"]
    for answer in answers:
        response = parsed(answer)
        assert response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
        assert response.certificate_status == ocsp.OCSPCertStatus.UNKNOWN
        assert nonce_of(response) is None
        assert "max-age=" in answer.headers["Cache-Control"]


def test_nonce_signatures_are_bounded_per_second(start_acme_server) -> None:
    """With nonces on at 1 signature a second (one worker), a burst gets its nonce echoed in
    about one response a second; the others get the cached answer without nonce."""
    server = start_acme_server({"ocsp": {"nonce_enabled": True,
                                         "nonce_signatures_per_second": 1}}, workers=1)
    serial = secrets.randbits(120) | 1
    echoed = 0
    started = time.monotonic()
    for _ in range(BURST):
        nonce = secrets.token_bytes(16)
        response = parsed(post(server, request_for(server, serial, nonce)))
        assert response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
        got = nonce_of(response)
        assert got in (None, nonce)
        echoed += got == nonce
    elapsed = time.monotonic() - started
    assert 1 <= echoed <= 1 + int(elapsed) + 1, (echoed, elapsed)
