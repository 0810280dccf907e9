"""Around every request: a request id in the logs and the response, and the HTTP metrics.

- X-Request-ID: a well-formed id sent by the client (or a proxy in front) is kept, else a new
  one is made; it is bound to the log context (every line of the request carries it) and
  echoed in the response.
- acmeeh_http_requests_total{endpoint,method,status} and the latency histogram are labelled
  with the Flask endpoint name ("acme.new_order"), never the raw path, so the number of
  series stays bounded whatever URLs clients send; no route is "unmatched".
- acmeeh_problems_total{type} counts problem documents (RFC 7807) by their short type.
- The access log (logging.access_log.enabled): one INFO record per request on the
  "acmeeh.access" logger with method, path, status, bytes, duration_ms, request_id and
  remote_addr (the client behind trusted proxies), formatted like every other line (text or
  JSON). Its level is set to INFO so it is written whatever logging.level is.
"""
from __future__ import annotations

import json
import logging
import re
import time
import uuid
from urllib.parse import quote

from flask import Flask, Request, Response, g, request

from .. import logs, metrics

HEADER = "X-Request-ID"
# Accepted from clients: short, no spaces or control characters (ids end up in log lines).
_VALID_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_ACME_ERROR = "urn:ietf:params:acme:error:"
PROBLEM_JSON = "application/problem+json"
ACCESS_LOGGER = "acmeeh.access"
# Characters kept as they are in a logged path; anything else (spaces, control characters a
# client sent percent-encoded, non-ASCII) is percent-encoded again, so a path cannot forge lines.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_access = logging.getLogger(ACCESS_LOGGER)


def request_id() -> str:
    """The client's X-Request-ID when well formed, else a fresh random one."""
    return checked_id(request.headers.get(HEADER, ""))


def checked_id(given: str) -> str:
    """`given` when it is a well-formed request id, else a fresh random one."""
    return given if _VALID_ID.match(given) else uuid.uuid4().hex


# The hooks below run on every request: each resolves Flask's `request` and `g` proxies once
# (a proxy lookup goes through a context variable every time).
def _begin() -> None:
    store = g._get_current_object()  # type: ignore[attr-defined]
    store.acmeeh_started = time.perf_counter()
    rid = store.acmeeh_request_id = request_id()
    store.acmeeh_log_token = logs.bind_request(rid, request.remote_addr)


def _finish(resp: Response) -> Response:
    _observe(resp)
    return resp


def _finish_logged(resp: Response) -> Response:
    req = request._get_current_object()  # type: ignore[attr-defined]
    elapsed = _observe(resp, req)
    size = resp.content_length
    if size is None and not resp.is_streamed:
        size = resp.calculate_content_length()
    log_access(req.method, req.path, resp.status_code, size, elapsed,
               g.get("acmeeh_request_id"), req.remote_addr)
    return resp


def log_access(method: str, path: str, status: int, size: int | None, elapsed: float | None,
               rid: str | None, remote_addr: str | None) -> None:
    """The access log line of one request."""
    path = quote(path, safe=_PATH_SAFE)
    _access.info("%s %s %d", method, path, status, extra={
        "method": method, "path": path, "status": status, "bytes": size,
        "duration_ms": round(elapsed * 1000, 2) if elapsed is not None else None,
        "request_id": rid, "remote_addr": remote_addr,
    })


def count(endpoint: str, method: str, status: int, elapsed: float | None) -> None:
    """The request in acmeeh_http_requests_total and the latency histogram."""
    method = method if method in _METHODS else "other"
    metrics.HTTP_REQUESTS.labels(endpoint=endpoint, method=method, status=str(status)).inc()
    if elapsed is not None:
        metrics.HTTP_LATENCY.labels(endpoint=endpoint, method=method).observe(elapsed)


def _observe(resp: Response, req: Request | None = None) -> float | None:
    """Echo the request id and count the request; returns its duration in seconds so far."""
    req = req if req is not None else request._get_current_object()  # type: ignore[attr-defined]
    store = g._get_current_object()  # type: ignore[attr-defined]
    started = store.pop("acmeeh_started", None)
    elapsed = time.perf_counter() - started if started is not None else None
    rid = store.get("acmeeh_request_id")
    if rid:
        resp.headers[HEADER] = rid
    count(req.endpoint or "unmatched", req.method, resp.status_code, elapsed)
    if resp.mimetype == PROBLEM_JSON:
        metrics.PROBLEMS.labels(type=problem_label(resp)).inc()
    return elapsed


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


def install(app: Flask, *, access_log: bool = True) -> None:
    """Register the hooks on `app` (first, so every other hook runs inside the request id);
    with `access_log`, every request also writes one line on the acmeeh.access logger."""
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)
    if access_log:
        _access.setLevel(logging.INFO)
    app.after_request(_finish_logged if access_log else _finish)
    app.teardown_request(_teardown)
