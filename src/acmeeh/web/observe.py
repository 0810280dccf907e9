"""Around every request: a request id in the logs and the response, and the HTTP metrics.

- X-Request-ID: a well-formed id sent by the client (or a proxy in front) is kept, else a new
  one is made; it is bound to the log context (every line of the request carries it) and
  echoed in the response.
- acmeeh_http_requests_total{endpoint,method,status} and the latency histogram are labelled
  with the Flask endpoint name ("acme.new_order"), never the raw path, so the number of
  series stays bounded whatever URLs clients send; no route is "unmatched".
- acmeeh_problems_total{type} counts problem documents (RFC 7807) by their short type.
"""
from __future__ import annotations

import json
import re
import time
import uuid

from flask import Flask, Response, g, request

from .. import logs, metrics

HEADER = "X-Request-ID"
# Accepted from clients: short, no spaces or control characters (ids end up in log lines).
_VALID_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_ACME_ERROR = "urn:ietf:params:acme:error:"
PROBLEM_JSON = "application/problem+json"


def request_id() -> str:
    """The client's X-Request-ID when well formed, else a fresh random one."""
    given = request.headers.get(HEADER, "")
    return given if _VALID_ID.match(given) else uuid.uuid4().hex


def _begin() -> None:
    g.acmeeh_started = time.perf_counter()
    g.acmeeh_request_id = request_id()
    g.acmeeh_log_token = logs.bind_request(g.acmeeh_request_id, request.remote_addr)


def _finish(resp: Response) -> Response:
    started = g.pop("acmeeh_started", None)
    rid = g.get("acmeeh_request_id")
    if rid:
        resp.headers[HEADER] = rid
    endpoint = request.endpoint or "unmatched"
    method = request.method if request.method in _METHODS else "other"
    metrics.HTTP_REQUESTS.labels(endpoint=endpoint, method=method, status=str(resp.status_code)).inc()
    if started is not None:
        metrics.HTTP_LATENCY.labels(endpoint=endpoint, method=method).observe(
            time.perf_counter() - started)
    if resp.mimetype == PROBLEM_JSON:
        metrics.PROBLEMS.labels(type=problem_label(resp)).inc()
    return resp


def problem_label(resp: Response) -> str:
    """The problem's type without the ACME URN prefix ("badNonce"), or "other"."""
    try:
        kind = json.loads(resp.get_data()).get("type", "")
    except (ValueError, AttributeError, RuntimeError):
        return "other"
    if isinstance(kind, str) and kind.startswith(_ACME_ERROR):
        short = kind[len(_ACME_ERROR):]
        return short if short.isalnum() and len(short) <= 40 else "other"
    return "other"


def _teardown(_exc: BaseException | None) -> None:
    token = g.pop("acmeeh_log_token", None)
    if token is not None:
        logs.unbind_request(token)


def install(app: Flask) -> None:
    """Register the hooks on `app` (first, so every other hook runs inside the request id)."""
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)
    app.after_request(_finish)
    app.teardown_request(_teardown)
