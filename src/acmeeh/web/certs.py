"""Certificate download (RFC 8555 §7.4.2) and revocation (§7.6)."""
from __future__ import annotations

import uuid

from flask import Response

from ..authority import certificates, revocation
from ..protocol.messages import Revocation
from . import envelope
from .blueprint import acme
from .context import ctx


@acme.post("/cert/<uuid:cert_id>")
def certificate(cert_id: uuid.UUID) -> Response:
    signed = envelope.verify("kid")
    signed.require_post_as_get()
    row = certificates.get_certificate(ctx().env, signed.need_account(), cert_id)
    resp = Response(row.pem_chain, content_type="application/pem-certificate-chain")
    resp.headers.add("Link", f'<{ctx().urls.issuer()}>;rel="up"')
    return resp


@acme.post("/revoke-cert")
def revoke_cert() -> Response:
    signed = envelope.verify("either")
    msg = Revocation.parse(signed.payload)
    revocation.revoke(ctx().env, msg.certificate, msg.reason,
                      account=signed.account, jwk=None if signed.account else signed.jwk)
    return Response(status=200)
