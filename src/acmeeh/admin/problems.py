"""Admin API errors as RFC 7807 problem documents.

Types are `urn:acmeeh:admin:error:<name>` with a fixed title and status per name. Problems
raised by the authority room keep their ACME type and status (e.g. alreadyRevoked,
rejectedIdentifier) and gain a title, except `malformed`, whose 400/404/409/... become the
admin names (badRequest, notFound, conflict...), so one renderer serves both.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flask import Response

from ..protocol.problems import Problem

PREFIX = "urn:acmeeh:admin:error:"
PROBLEM_JSON = "application/problem+json"

# name → (status, title)
_KINDS = {
    "badRequest": (400, "Bad request"),
    "unauthorized": (401, "Authentication required"),
    "forbidden": (403, "Forbidden"),
    "notFound": (404, "Not found"),
    "methodNotAllowed": (405, "Method not allowed"),
    "conflict": (409, "Conflict"),
    "payloadTooLarge": (413, "Payload too large"),
    "unsupportedMediaType": (415, "Unsupported media type"),
    "tooManyRequests": (429, "Too many requests"),
    "serverInternal": (500, "Internal server error"),
}


class AdminProblem(Exception):
    """A problem of the admin API; `errors` lists field-level messages ({path, message})."""

    def __init__(
        self, name: str, detail: str, *, errors: Sequence[Mapping[str, str]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.title = _KINDS[name]
        self.type = PREFIX + name
        self.detail = detail
        self.errors = [dict(e) for e in errors]
        self.headers = dict(headers or {})

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status,
                                "detail": self.detail}
        if self.errors:
            body["errors"] = self.errors
        return body


def bad_request(detail: str, errors: Sequence[Mapping[str, str]] = ()) -> AdminProblem:
    return AdminProblem("badRequest", detail, errors=errors)


def unauthorized(detail: str = "a valid bearer token is required") -> AdminProblem:
    # RFC 6750 §3: a 401 names the scheme; invalid_token when one was sent but is not good.
    return AdminProblem("unauthorized", detail,
                        headers={"WWW-Authenticate": 'Bearer realm="acmeeh-admin"'})


def forbidden(detail: str) -> AdminProblem:
    return AdminProblem("forbidden", detail)


def not_found(detail: str = "no such resource") -> AdminProblem:
    return AdminProblem("notFound", detail)


def conflict(detail: str) -> AdminProblem:
    return AdminProblem("conflict", detail)


def method_not_allowed(allowed: Iterable[str]) -> AdminProblem:
    return AdminProblem("methodNotAllowed", "method not allowed on this resource",
                        headers={"Allow": ", ".join(sorted(allowed))})


def payload_too_large(limit: int) -> AdminProblem:
    return AdminProblem("payloadTooLarge", f"request bodies are limited to {limit} bytes")


def unsupported_media_type() -> AdminProblem:
    return AdminProblem("unsupportedMediaType", "request bodies must be application/json")


def too_many_requests(detail: str, retry_after: int) -> AdminProblem:
    """429 with Retry-After in seconds (RFC 6585 §4, RFC 9110 §10.2.3)."""
    return AdminProblem("tooManyRequests", detail, headers={"Retry-After": str(retry_after)})


def server_internal() -> AdminProblem:
    return AdminProblem("serverInternal", "the server experienced an internal error")


# ACME `malformed` carries the plain HTTP meanings; the admin API names them its own way.
_MALFORMED_AS = {400: "badRequest", 404: "notFound", 405: "methodNotAllowed", 409: "conflict",
                 413: "payloadTooLarge", 415: "unsupportedMediaType"}


def _acme_body(problem: Problem) -> dict[str, Any]:
    if problem.code == "malformed" and problem.status in _MALFORMED_AS:
        return AdminProblem(_MALFORMED_AS[problem.status], problem.detail).to_dict()
    body = problem.to_dict()
    body.setdefault("title", problem.code)
    return body


def response(problem: AdminProblem | Problem) -> Response:
    """The application/problem+json response of either kind of problem."""
    body = problem.to_dict() if isinstance(problem, AdminProblem) else _acme_body(problem)
    resp = Response(json.dumps(body), status=problem.status, content_type=PROBLEM_JSON)
    for name, value in problem.headers.items():
        resp.headers[name] = value
    resp.headers["Cache-Control"] = "no-store"
    return resp
