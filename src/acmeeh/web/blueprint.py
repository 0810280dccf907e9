"""What every ACME response carries (RFC 8555 §6.5, §7.1) and the response helpers of the
ACME handlers; web/routes.py builds the blueprint."""
from __future__ import annotations

import json
import logging
from typing import Any

from flask import Response, request

from ..authority import nonces
from .context import ctx

NAME = "acme"  # the blueprint's name: its endpoints are acme.<handler>
log = logging.getLogger("acmeeh.web")


def _is_acme_request() -> bool:
    """Whether the request was addressed to the ACME API, routed or not: a URL under the
    prefix that names nothing (an unknown or unparsable id) is still an ACME request."""
    if request.blueprint is not None:
        return request.blueprint == NAME
    prefix = ctx().env.settings.acme.path_prefix
    return request.url_rule is None and (not prefix or request.path.startswith(prefix + "/"))


def fresh_nonce(resp: Response) -> Response:
    """Every ACME response carries a fresh nonce and a link to the directory: RFC 8555 §6.5
    wants a Replay-Nonce on every answer to a POST, errors included, whatever failed
    (routing: 404 and 405; the envelope: 413, 415). Minting one costs no database work."""
    if not _is_acme_request():
        return resp
    c = ctx()
    try:
        resp.headers["Replay-Nonce"] = nonces.new_nonce(c.env)
    except Exception:  # the problem the handler raised is more useful than this one
        log.exception("could not issue a nonce")
    resp.headers.add("Link", f'<{c.urls.directory()}>;rel="index"')
    resp.headers.setdefault("Cache-Control", "no-store")
    return resp


def json_response(
    body: dict[str, Any], status: int = 200, *, location: str | None = None,
    retry_after: int | None = None, links: tuple[tuple[str, str], ...] = (),
) -> Response:
    resp = Response(json.dumps(body), status=status, content_type="application/json")
    if location:
        resp.headers["Location"] = location
    if retry_after is not None:
        resp.headers["Retry-After"] = str(retry_after)
    for url, rel in links:
        resp.headers.add("Link", f'<{url}>;rel="{rel}"')
    return resp


def retry_after() -> int:
    return ctx().env.settings.acme.retry_after_seconds
