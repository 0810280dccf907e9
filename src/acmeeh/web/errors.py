"""The one place problems become HTTP responses (RFC 7807, application/problem+json)."""
from __future__ import annotations

import json
import logging

from flask import Flask, Response
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from .. import metrics
from ..protocol import problems
from ..protocol.problems import Problem
from ..store import db

log = logging.getLogger("acmeeh.web")

_HTTP_TO_PROBLEM = {
    404: lambda: problems.not_found(),
    413: lambda: problems.payload_too_large(),
    415: lambda: problems.unsupported_media_type(),
}


def problem_response(problem: Problem) -> Response:
    resp = Response(json.dumps(problem.to_dict()), status=problem.status,
                    content_type="application/problem+json")
    for name, value in problem.headers.items():
        resp.headers[name] = value
    if problem.status == 413:
        # web.bodies has read and dropped what it could of the refused body; whatever is
        # left unread makes the connection unusable for another request.
        resp.headers["Connection"] = "close"
    return resp


def _from_http(exc: HTTPException) -> Response:
    if isinstance(exc, MethodNotAllowed):  # routing knows the methods the URL takes
        return problem_response(problems.method_not_allowed(exc.valid_methods or ()))
    make = _HTTP_TO_PROBLEM.get(exc.code or 500)
    if make is not None:
        return problem_response(make())
    if exc.code and 400 <= exc.code < 500:
        return problem_response(problems.malformed(exc.description or "bad request", status=400))
    return problem_response(problems.server_internal())


def _unexpected(exc: Exception) -> Response:
    # The detail goes to the log, never to the client.
    log.exception("unhandled error: %s", type(exc).__name__)
    return problem_response(problems.server_internal())


def database_unavailable(exc: BaseException, retry_after: int) -> Problem:
    """The 503 for a request the database could not serve; counted in
    acmeeh_database_unavailable_total{reason} and logged (one line, no traceback)."""
    reason, _, text = db.unavailable_reason(exc).partition(": ")
    metrics.DATABASE_UNAVAILABLE.labels(reason=reason).inc()
    log.warning("database unavailable (%s): %s", reason, text)
    return problems.unavailable("The database is temporarily unavailable; retry later", retry_after)


def install(app: Flask, *, retry_after: int) -> None:
    """Render every error of `app` as a problem document; `retry_after` is the Retry-After of
    a 503 for an unavailable database."""
    app.register_error_handler(Problem, problem_response)
    app.register_error_handler(HTTPException, _from_http)
    app.register_error_handler(db.Unavailable,
                               lambda exc: problem_response(database_unavailable(exc, retry_after)))
    app.register_error_handler(Exception, _unexpected)
