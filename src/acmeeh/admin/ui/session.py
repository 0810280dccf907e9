"""Dashboard sessions: the admin API's users, roles and tokens behind a cookie.

Logging in runs the API's own login (lockout, per-address throttle, audit) and keeps the
bearer token in a cookie that is HttpOnly, SameSite=Strict, scoped to the dashboard's path and
Secure when the dashboard is served over https. Every form carries a CSRF token: for a session,
an HMAC of its token under admin_api.token_secret; for the login form, a random value that
must match a cookie of its own (double submit). Auditors read; only admins post changes.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

from flask import abort, current_app, g, redirect, request
from werkzeug.wrappers import Response

from ...authority.ocsp import OCSPResponder
from ...store.admin import TokenOwner
from .. import audit, operators
from ..audit import Actor
from ..blueprint import AdminContext
from ..problems import AdminProblem

COOKIE = "acmeeh_dashboard"
LOGIN_CSRF_COOKIE = "acmeeh_dashboard_login"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class DashboardContext:
    path: str  # dashboard.path
    loops: dict[str, int]  # background loop → its advisory lock id (workers.supervisor.LOOPS)
    ocsp: OCSPResponder | None  # the responder whose signer the overview shows (ocsp.enabled)


class DashboardHost(Protocol):
    """An application with the dashboard installed (acmeeh.app.AcmeehApp)."""

    admin: AdminContext
    dashboard: DashboardContext


def admin_ctx() -> AdminContext:
    return cast(DashboardHost, current_app).admin


def dashboard_ctx() -> DashboardContext:
    return cast(DashboardHost, current_app).dashboard


def base_path() -> str:
    return dashboard_ctx().path


def secure() -> bool:
    """Secure cookies when the dashboard is reached over https (directly or per external_url)."""
    external = admin_ctx().env.settings.server.external_url
    return request.is_secure or external.startswith("https://")


def set_cookie(resp: Response, name: str, value: str, max_age: int | None) -> None:
    resp.set_cookie(name, value, max_age=max_age, path=base_path(), httponly=True,
                    secure=secure(), samesite="Strict")


def csrf_for(token: str) -> str:
    secret = (admin_ctx().cfg.token_secret or "").encode()
    return hmac.new(secret, b"dashboard-csrf:" + token.encode(), hashlib.sha256).hexdigest()


def current_owner() -> TokenOwner | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        return operators.authenticate(admin_ctx().env, f"Bearer {token}")
    except AdminProblem:
        return None


def actor() -> Actor:
    owner: TokenOwner = g.dashboard_owner
    return Actor(owner.username, owner.user_id, owner.role)


def page(*, write: bool = False) -> Callable[[F], F]:
    """A dashboard view: a session is required (else to the login page); a POST must carry
    the session's CSRF token; a write needs role admin (403 and an audit row otherwise)."""

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def run(*args: Any, **kwargs: Any) -> Any:
            owner = current_owner()
            if owner is None:
                if request.method != "GET":
                    abort(401)
                return redirect(f"{base_path()}/login")
            g.dashboard_owner = owner
            g.dashboard_token = request.cookies[COOKIE]
            g.csrf = csrf_for(g.dashboard_token)
            if request.method == "POST":
                sent = request.form.get("csrf", "")
                if not hmac.compare_digest(sent, g.csrf):
                    abort(400, "the form is stale or forged (CSRF token mismatch)")
                if write and owner.role != "admin":
                    audit.record(admin_ctx().env, actor=actor(), action="access.denied",
                                 target=request.path, outcome=audit.DENIED,
                                 details={"method": "POST", "via": "dashboard"},
                                 remote_addr=request.remote_addr)
                    abort(403, f"role {owner.role} may only read")
            return view(*args, **kwargs)

        return run  # type: ignore[return-value]

    return wrap


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def login_csrf_ok() -> bool:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent = request.form.get("csrf", "")
    return bool(cookie) and hmac.compare_digest(cookie, sent)
