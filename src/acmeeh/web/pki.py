"""Revocation status over HTTP: the CRL (RFC 5280), the OCSP responder (RFC 6960 Appendix A,
RFC 5019) and ACME renewal information (RFC 9773 §4.1).

CRL and OCSP live at the root of server.external_url (paths from settings) on a blueprint built
by `blueprint(env)`; renewalInfo is an ACME resource on the ACME blueprint.
"""
from __future__ import annotations

import base64
import binascii
import functools
import hashlib
from datetime import datetime

from flask import Blueprint, Response, request
from werkzeug.http import http_date, quote_etag

from ..authority import crl, renewal
from ..authority.env import Env
from ..authority.ocsp import OCSPAnswer, OCSPResponder
from ..config.settings import Settings
from ..protocol import problems
from .blueprint import json_response
from .context import ctx

CRL_TYPE = "application/pkix-crl"  # RFC 5280 §4.2.1.13 / RFC 2585 §4.2
OCSP_RESPONSE = "application/ocsp-response"  # RFC 6960 Appendix C.2
RENEWAL_INFO_PATH = "/renewal-info"
# A GET request is a few hundred bytes of base64; refuse anything absurd before decoding.
MAX_GET_CHARS = 4096


def renewal_info_url(base: str) -> str:
    """The directory's renewalInfo URL under the ACME base URL."""
    return f"{base}{RENEWAL_INFO_PATH}"


def status_urls(settings: Settings) -> tuple[str | None, str | None]:
    """(CRL URL, OCSP URL) that issued certificates carry (CRL DP, AIA OCSP); None when off."""
    base = settings.server.external_url.rstrip("/")
    crl_url = f"{base}{settings.crl.path}" if settings.crl.enabled else None
    ocsp_url = f"{base}{settings.ocsp.path}" if settings.ocsp.enabled else None
    return crl_url, ocsp_url


def _max_age(until: datetime, now: datetime) -> int:
    return max(0, int((until - now).total_seconds()))


def blueprint(env: Env, responder: OCSPResponder | None) -> Blueprint:
    """A new blueprint serving crl.path (when enabled) and ocsp.path (when a `responder` is
    given: ocsp.enabled). Loads the CRL signer now, so a bad CA fails at start-up.
    """
    bp = Blueprint("pki", __name__)
    settings = env.settings
    if settings.crl.enabled:
        signer = crl.load_signer(env)

        def serve_crl() -> Response:
            return crl_response(env, crl.current(env, signer))

        bp.add_url_rule(settings.crl.path, "crl", serve_crl, methods=["GET"])
    if responder is not None:
        ocsp = responder

        def ocsp_post() -> Response:
            # RFC 6960 A.1: the body is the DER OCSPRequest (application/ocsp-request).
            der = request.get_data(cache=False)
            return ocsp_response(env, ocsp.respond(der), conditional=False)

        def ocsp_get(encoded: str) -> Response:
            # RFC 6960 A.1: GET {url}/{url-encoding of base64 encoding of the DER request}.
            return ocsp_response(env, ocsp.respond(decode_get(encoded)), conditional=True)

        path = settings.ocsp.path
        # The same GET is mostly answered by web.ocsp_get, below Flask (it falls back here).
        bp.add_url_rule(path, "ocsp_post", ocsp_post, methods=["POST"])
        bp.add_url_rule(f"{path}/", "ocsp_post_slash", ocsp_post, methods=["POST"])
        # merge_slashes=False: base64 may contain "//", which must not be folded or redirected.
        bp.add_url_rule(f"{path}/<path:encoded>", "ocsp_get", ocsp_get, methods=["GET"],
                        merge_slashes=False)
    return bp


def decode_get(encoded: str) -> bytes:
    """The DER request of a GET path (the server already undid the URL encoding).

    Tolerates a space for "+" (a form-decoding proxy) and missing padding; anything that is
    not base64 yields b"", which the responder answers with malformedRequest.
    """
    text = encoded.strip().replace(" ", "+")
    if len(text) > MAX_GET_CHARS:
        return b""
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return b""


def ocsp_response(env: Env, answer: OCSPAnswer, *, conditional: bool) -> Response:
    """The answer with its caching headers (see ocsp_headers); with `conditional`, a request
    that carries If-None-Match or If-Modified-Since may get 304 Not Modified."""
    resp = Response(answer.der, headers=ocsp_headers(env, answer))
    # Only a request that asks for it pays for the conditional rules.
    if conditional and ("If-None-Match" in request.headers or "If-Modified-Since" in request.headers):
        resp.make_conditional(request)  # may turn it into 304 Not Modified, in place
    return resp


def ocsp_headers(env: Env, answer: OCSPAnswer) -> list[tuple[str, str]]:
    """Content-Type and the RFC 5019 §6.2 caching headers: max-age, Last-Modified, Expires,
    ETag (only for responses without a nonce; the others are no-store)."""
    if not (answer.cacheable and answer.this_update and answer.next_update):
        return [("Content-Type", OCSP_RESPONSE), ("Cache-Control", "no-store")]
    etag, last_modified, expires = _validators(answer)
    max_age = _max_age(answer.next_update, env.clock())
    return [
        ("Content-Type", OCSP_RESPONSE),
        ("Cache-Control", f"max-age={max_age}, public, no-transform, must-revalidate"),
        ("Last-Modified", last_modified), ("Expires", expires), ("ETag", etag),
    ]


@functools.lru_cache(maxsize=1024)
def _validators(answer: OCSPAnswer) -> tuple[str, str, str]:
    """(ETag, Last-Modified, Expires) of a signed answer, formatted once: the responder hands
    the same answer object to every request it serves from its cache."""
    assert answer.this_update is not None and answer.next_update is not None
    digest = hashlib.sha256(answer.der).hexdigest()[:32]
    return quote_etag(digest), http_date(answer.this_update), http_date(answer.next_update)


def crl_response(env: Env, row: crl.CRLRow) -> Response:
    """The DER CRL, cacheable until its nextUpdate; conditional GET by ETag/Last-Modified."""
    resp = Response(row.der, content_type=CRL_TYPE)
    max_age = _max_age(row.next_update, env.clock())
    resp.headers["Cache-Control"] = f"max-age={max_age}, public, no-transform, must-revalidate"
    resp.last_modified = row.this_update
    resp.expires = row.next_update
    resp.set_etag(f"crl-{row.number}")
    resp.make_conditional(request)  # may turn it into 304 Not Modified, in place
    return resp


def renewal_info(cert_id: str) -> Response:
    """RFC 9773 §4.1: GET {renewalInfo}/{certID} → RenewalInfo with Retry-After."""
    env = ctx().env
    if not env.settings.renewal_info.enabled:
        raise problems.not_found()
    info = renewal.renewal_info(env, cert_id)
    return json_response(info.to_json(), retry_after=info.retry_after)
