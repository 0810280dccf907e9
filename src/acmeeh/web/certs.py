"""Certificate download (RFC 8555 §7.4.2) and revocation (§7.6)."""
from __future__ import annotations

import uuid

from flask import Response, request

from ..authority import certificates, revocation
from ..protocol import problems
from ..protocol.messages import Revocation
from ..protocol.problems import Problem
from ..store import signed_reads
from . import envelope
from .context import ctx

PEM_CHAIN = "application/pem-certificate-chain"  # RFC 8555 §9.1


def certificate(cert_id: uuid.UUID) -> Response:
    return _serve(cert_id, 0)


def alternate(cert_id: uuid.UUID, index: int) -> Response:
    """The certificate with its index-th alternate chain (RFC 8555 §7.4.2)."""
    return _serve(cert_id, index)


def _serve(cert_id: uuid.UUID, index: int) -> Response:
    """The chain in the format Accept asks for; every answer, problems included, varies with
    Accept (RFC 9110 §12.5.5). Each other chain of the certificate is a Link rel=alternate."""
    try:
        signed = envelope.verify("kid", signed_reads.certificate(cert_id))
        signed.require_post_as_get()
        served = certificates.download(ctx().env, signed.need_account(), signed.read, _negotiate(),
                                       alternate=index)
    except Problem as problem:
        problem.headers.setdefault("Vary", "Accept")
        raise
    resp = Response(served.body, content_type=served.content_type)
    resp.headers["Vary"] = "Accept"
    urls = ctx().urls
    for other in range(served.alternates + 1):
        if other != index:
            url = urls.certificate_alternate(cert_id, other) if other else urls.certificate(cert_id)
            resp.headers.add("Link", f'<{url}>;rel="alternate"')
    if served.needs_up:  # RFC 8555 §7.4.2: where the issuer's certificate can be fetched
        resp.headers.add("Link", f'<{urls.issuer()}>;rel="up"')
    return resp


def _negotiate() -> str:
    """The format Accept prefers, q-values honoured (RFC 9110 §12.5.1); the PEM chain when
    Accept is absent or allows anything; 406 when it allows none of certificates.MEDIA_TYPES."""
    if not request.headers.get("Accept", "").strip():
        return certificates.MEDIA_TYPES[0]
    chosen = request.accept_mimetypes.best_match(certificates.MEDIA_TYPES)
    if chosen is None:
        raise problems.not_acceptable(certificates.MEDIA_TYPES)
    return chosen


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
