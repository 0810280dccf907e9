"""Directory (RFC 8555 §7.1.1) and newNonce (§7.2)."""
from __future__ import annotations

from flask import Response, request

from . import envelope
from .blueprint import json_response
from .context import ctx
from .pki import renewal_info_url


def directory() -> Response:
    """GET, or POST-as-GET: every response links here with rel="index" (RFC 8555 §7.1)."""
    if request.method == "POST":
        envelope.verify("kid").require_post_as_get()
    c = ctx()
    acme_cfg = c.env.settings.acme
    meta: dict = {"externalAccountRequired": bool(acme_cfg.external_account_required)}
    if acme_cfg.terms_of_service:
        meta["termsOfService"] = acme_cfg.terms_of_service
    if acme_cfg.website:
        meta["website"] = acme_cfg.website
    if acme_cfg.caa_identities:
        meta["caaIdentities"] = list(acme_cfg.caa_identities)
    # draft-ietf-acme-profiles §3: each profile's name and a description for humans.
    meta["profiles"] = {p.name: p.description for p in c.env.settings.ca.profiles}
    body: dict = {**c.urls.resources(), "meta": meta}
    if c.env.settings.renewal_info.enabled:  # RFC 9773 §4
        body["renewalInfo"] = renewal_info_url(c.urls.base)
    resp = json_response(body)
    resp.headers["Cache-Control"] = "public, max-age=0, no-cache"
    return resp


def new_nonce() -> Response:
    """HEAD → 200, GET → 204 (RFC 8555 §7.2); the nonce is added to every response."""
    resp = Response(status=200 if request.method == "HEAD" else 204, content_type=None)
    resp.headers.pop("Content-Type", None)
    resp.headers["Cache-Control"] = "no-store"
    return resp
