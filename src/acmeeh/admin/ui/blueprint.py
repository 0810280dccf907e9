"""The dashboard blueprint: server-rendered pages (jinja2), one stylesheet, no script at all;
strict security headers on every answer and HTML error pages."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, g, render_template, request
from werkzeug.exceptions import HTTPException

from ...protocol import problems
from .. import audit
from ..inputs import encode_cursor
from . import session

NAME = "dashboard"  # the blueprint's name (ui/routes.py builds it)

# No script, no frames, no third-party anything: styles and images from here only.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


def show(template: str, status: int = 200, **values: Any) -> Response:
    """Render a page with what every page needs (the path, the user, the CSRF token)."""
    owner = g.get("dashboard_owner")
    html = render_template(template, base=session.base_path(), owner=owner,
                           csrf=g.get("csrf"), **values)
    return Response(html, status=status, content_type="text/html; charset=utf-8")


def next_cursor(rows: list[Any], limit: int, key: str = "id") -> str | None:
    """The cursor of the page after `rows` (fetched with limit + 1), or None."""
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return encode_cursor(last.created_at, str(getattr(last, key)))


def act(do: Callable[[], object], *, action: str, target: str, missing: str | None,
        **details: Any) -> None:
    """Run a dashboard change `do`, audited as `action` on `target` (the refusal's problem type
    when it fails). A refusal is shown by the page the caller redirects to, except a missing
    object: 404 with `missing` (when given)."""
    outcome, noted = audit.SUCCESS, {**details, "via": "dashboard"}
    try:
        do()
    except problems.Problem as refused:
        outcome, noted = audit.FAILURE, {**noted, "problem": refused.type}
        if refused.status == 404 and missing is not None:
            abort(404, missing)
    finally:
        audit.record(session.admin_ctx().env, actor=session.actor(), action=action,
                     target=target, outcome=outcome, details=noted,
                     remote_addr=request.remote_addr)


def new_blueprint() -> Blueprint:
    """The dashboard's blueprint (templates, the stylesheet, security headers, HTML error
    pages), without routes: ui/routes.py adds them."""
    bp = Blueprint(NAME, __name__, template_folder="templates", static_folder="static",
                   static_url_path="/static")
    bp.after_request(_headers)
    bp.register_error_handler(HTTPException, _error)
    return bp


def _headers(resp: Response) -> Response:
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Frame-Options"] = "DENY"
    if resp.mimetype == "text/html":
        resp.headers["Cache-Control"] = "no-store"
    return resp


def _error(exc: HTTPException) -> Response:
    return show("error.html", exc.code or 500, code=exc.code, message=exc.description)
