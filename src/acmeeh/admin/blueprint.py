"""The admin blueprint: bearer authentication, the role rule, auditing, problem rendering.

Every route needs a valid token except login and the OpenAPI document. Role `admin` may do
everything; role `auditor` only reads (GET), plus logging itself out.
"""
from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from .. import metrics
from ..authority.env import Env
from ..protocol import problems as acme_problems
from ..protocol.problems import Problem
from ..store import db
from ..store.paging import Page
from . import audit, operators, problems
from .audit import Actor
from .inputs import Query, encode_cursor, json_body
from .problems import AdminProblem
from .spec import Spec

NAME = "admin"  # the blueprint's name (admin/routes.py builds it): endpoints are admin.<view>
log = logging.getLogger("acmeeh.admin")
PUBLIC_ENDPOINTS = frozenset({"admin.login", "admin.openapi"})
ANY_ROLE_WRITES = frozenset({"admin.logout"})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
F = TypeVar("F", bound=Callable[..., Response])
R = TypeVar("R")


@dataclass(frozen=True)
class AdminContext:
    env: Env
    spec: Spec
    base_url: str  # server.external_url + admin_api.base_path
    dummy_hash: str  # verified against for unknown users (constant-cost login failures)
    refusals: audit.ThrottledAudit  # audits bad tokens and throttled logins, within a budget

    @property
    def cfg(self) -> Any:
        return self.env.settings.admin_api


class AdminHost(Protocol):
    """An application with the admin API installed (acmeeh.app.AcmeehApp, admin_api.enabled)."""

    admin: AdminContext


def ctx() -> AdminContext:
    """The AdminContext of the application serving this request (its admin API is on: the
    admin routes exist only then)."""
    return cast(AdminHost, current_app).admin


def actor() -> Actor:
    return g.admin_actor


def body(schema: str, *, optional: bool = False) -> dict[str, Any]:
    """The request body checked against components.schemas[schema] (see inputs.json_body)."""
    return json_body(ctx().spec, schema, ctx().cfg.max_body_bytes, optional=optional)


def json_response(data: Any, status: int = 200, *, location: str | None = None) -> Response:
    resp = Response(json.dumps(data), status=status, content_type="application/json")
    resp.headers["Cache-Control"] = "no-store"
    if location:
        resp.headers["Location"] = location
    return resp


def created(data: Any, path: str) -> Response:
    """201 Created for a new resource at `path` under the API's base URL (its Location)."""
    return json_response(data, 201, location=f"{ctx().base_url}{path}")


def listing(rows: Sequence[Any], page: Page, render: Callable[[Any], dict[str, Any]],
            key: Callable[[Any], str] = lambda r: str(r.id)) -> Response:
    """One page: {"items", "next_cursor"} plus Link rel="next" (RFC 8288) when more follow."""
    more = len(rows) > page.limit
    shown = list(rows[: page.limit])
    cursor = encode_cursor(shown[-1].created_at, key(shown[-1])) if more and shown else None
    resp = json_response({"items": [render(r) for r in shown], "next_cursor": cursor})
    if cursor:
        args = {k: v for k, v in request.args.items() if k != "cursor"} | {"cursor": cursor}
        resp.headers["Link"] = f'<{ctx().base_url}{_sub_path()}?{urlencode(args)}>; rel="next"'
    return resp


def paged(q: Query, read: Callable[[db.Connection, Page], Sequence[R]],
          render: Callable[[R], dict[str, Any]], key: Callable[[R], str] | None = None) -> Response:
    """One page of what `read` lists, its limit and cursor taken from `q` (the cursor of
    `key`, the row's id unless given), rendered by `listing`."""
    page = q.page(ctx().cfg.max_page_size, uuid_key=key is None)
    with ctx().env.pool.connection() as conn:
        rows = read(conn, page)
    return listing(rows, page, render, key or (lambda r: str(getattr(r, "id"))))


def found(read: Callable[[db.Connection], R | None], missing: str) -> R:
    """What `read` finds for a GET that takes no query parameter, or 404 with `missing`."""
    Query(())
    with ctx().env.pool.connection() as conn:
        row = read(conn)
    if row is None:
        raise problems.not_found(missing)
    return row


def shown(read: Callable[[db.Connection], R | None], render: Callable[[R], dict[str, Any]],
          missing: str) -> Response:
    """The object `read` finds (see `found`: 404 with `missing`), rendered as JSON."""
    return json_response(render(found(read, missing)))


def detail(get: Callable[[db.Connection], R | None],
           show: Callable[[db.Connection, R], dict[str, Any]], missing: str) -> Response:
    """Like `shown`, for an object rendered with more rows: `show` reads them on the same
    connection."""
    def read(conn: db.Connection) -> dict[str, Any] | None:
        row = get(conn)
        return None if row is None else show(conn, row)

    return json_response(found(read, missing))


def _sub_path() -> str:
    return request.path[len(ctx().cfg.base_path):]


def note(target: str | None = None, **details: Any) -> None:
    """What the audit row of this request names as target and details."""
    if target is not None:
        g.audit_target = target
    g.audit_details = {**getattr(g, "audit_details", {}), **details}


def audited(action: str, target: str | None = None) -> Callable[[F], F]:
    """Write one audit row per call: success, or failure with the problem type. `target`
    ("user:{user_id}") names the object acted on from the view's URL parameters; a view may
    note() it instead (else the row names the request path)."""

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def run(*args: Any, **kwargs: Any) -> Response:
            g.audit_target = target.format(**kwargs) if target is not None else None
            g.audit_details = {}
            try:
                resp = view(*args, **kwargs)
            except (AdminProblem, Problem) as problem:
                write_audit(action, audit.FAILURE, {"problem": problem.type, "status": problem.status})
                raise
            except Exception:
                write_audit(action, audit.FAILURE, {"problem": "serverInternal", "status": 500})
                raise
            write_audit(action, audit.SUCCESS, g.audit_details)
            return resp

        return run  # type: ignore[return-value]

    return wrap


def write_audit(action: str, outcome: str, details: dict[str, Any]) -> None:
    """One audit row for the current request (target: the noted one, else the path)."""
    target = g.get("audit_target") or _sub_path()
    audit.record(ctx().env, actor=g.get("admin_actor"), action=action, target=target,
                 outcome=outcome, details=details, remote_addr=request.remote_addr)


def authenticate() -> None:
    """The blueprint's before_request: every endpoint but login and the OpenAPI document needs
    a bearer token; writes need the admin role (except logout)."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    presented = request.headers.get("Authorization")
    try:
        owner = operators.authenticate(ctx().env, presented)
    except AdminProblem as refused:
        if presented:  # a bearer token that failed; an absent one is just a 401
            ctx().refusals.record(ctx().env, actor=None, action="auth.token",
                                  target=_sub_path(), outcome=audit.FAILURE,
                                  details={"reason": refused.detail, "method": request.method},
                                  remote_addr=request.remote_addr)
        raise
    g.admin_owner = owner
    g.admin_actor = Actor(owner.username, owner.user_id, owner.role)
    if request.method in READ_METHODS or owner.role == "admin":
        return
    if request.endpoint in ANY_ROLE_WRITES:
        return
    rule = request.url_rule.rule if request.url_rule else request.path
    audit.record(ctx().env, actor=g.admin_actor, action="access.denied", target=_sub_path(),
                 outcome=audit.DENIED, details={"method": request.method, "route": rule},
                 remote_addr=request.remote_addr)
    raise problems.forbidden(f"role {owner.role} may only read")


def _render_http(exc: HTTPException) -> Response:
    code = exc.code or 500
    if code == 413:
        return problems.response(problems.payload_too_large(ctx().cfg.max_body_bytes))
    if code == 415:
        return problems.response(problems.unsupported_media_type())
    if isinstance(exc, MethodNotAllowed):
        return problems.response(problems.method_not_allowed(exc.valid_methods or ()))
    if isinstance(exc, NotFound):
        return problems.response(problems.not_found())
    if 400 <= code < 500:
        return problems.response(problems.bad_request("the request could not be understood"))
    return problems.response(problems.server_internal())


def _render_unexpected(exc: Exception) -> Response:
    if isinstance(exc, db.Unavailable):  # 503 with Retry-After, as on the ACME API
        reason, _, text = db.unavailable_reason(exc).partition(": ")
        metrics.DATABASE_UNAVAILABLE.labels(reason=reason).inc()
        log.warning("admin API: database unavailable (%s): %s", reason, text)
        retry_after = ctx().env.settings.server.unavailable_retry_after_seconds
        return problems.response(acme_problems.unavailable(
            "The database is temporarily unavailable; retry later", retry_after))
    log.exception("admin API error: %s", type(exc).__name__)
    return problems.response(problems.server_internal())


def install_handlers(bp: Blueprint) -> None:
    """Authentication before every request, and every error as an admin problem document."""
    bp.before_request(authenticate)
    bp.register_error_handler(AdminProblem, problems.response)
    bp.register_error_handler(Problem, problems.response)
    bp.register_error_handler(HTTPException, _render_http)
    bp.register_error_handler(Exception, _render_unexpected)


def routing_errors(base_path: str) -> Callable[[], Response | None]:
    """An app-level before_request hook: unknown admin paths and wrong methods become admin
    problem documents (routing fails before any blueprint is chosen)."""

    def hook() -> Response | None:
        exc = request.routing_exception
        if exc is None or not (request.path == base_path or request.path.startswith(base_path + "/")):
            return None
        if isinstance(exc, MethodNotAllowed):
            return problems.response(problems.method_not_allowed(exc.valid_methods or ()))
        if isinstance(exc, NotFound):
            return problems.response(problems.not_found())
        return None

    return hook

