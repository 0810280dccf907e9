"""Certificate download (RFC 8555 §7.4.2) and revocation (§7.6)."""
from __future__ import annotations

import uuid

from flask import Response, request

from ..authority import certificates, revocation
from ..protocol.messages import Revocation
from . import envelope
from .context import ctx

PEM_CHAIN = "application/pem-certificate-chain"  # RFC 8555 §9.1


def certificate(cert_id: uuid.UUID) -> Response:
    signed = envelope.verify("kid")
    signed.require_post_as_get()
    served = certificates.download(ctx().env, signed.need_account(), cert_id)
    resp = Response(served.pem_chain, content_type=PEM_CHAIN)
    if served.needs_up:  # RFC 8555 §7.4.2: where the issuer's certificate can be fetched
        resp.headers.add("Link", f'<{ctx().urls.issuer()}>;rel="up"')
    return resp


def issuer() -> Response:
    """The signing CA's certificate: GET, or POST-as-GET as RFC 8555 §6.3 has clients fetch
    every resource a Link header names."""
    if request.method == "POST":
        envelope.verify("kid").require_post_as_get()
    return Response(certificates.issuer_pem(ctx().env), content_type=PEM_CHAIN)


def revoke_cert() -> Response:
    signed = envelope.verify("either")
    msg = Revocation.parse(signed.payload)
    revocation.revoke(ctx().env, msg,
                      account=signed.account, jwk=None if signed.account else signed.jwk)
    return Response(status=200)
