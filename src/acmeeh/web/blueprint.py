"""The ACME blueprint and what every ACME response carries (RFC 8555 §6.5, §7.1)."""
from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Response

from ..authority import nonces
from .context import ctx

acme = Blueprint("acme", __name__)
log = logging.getLogger("acmeeh.web")


@acme.after_request
def _fresh_nonce(resp: Response) -> Response:
    """Every response carries a fresh nonce and a link to the directory."""
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
