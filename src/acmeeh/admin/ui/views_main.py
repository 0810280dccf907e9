"""Login, logout, the overview (issuance, expiry timeline, failures, CRL and OCSP freshness,
worker leaders, dead letters) and the maintenance switch."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import g, redirect, request
from werkzeug.wrappers import Response

from ...authority import crl, maintenance
from ...store import stats
from .. import audit, operators
from . import charts, session
from .blueprint import show

DAYS, WEEKS = 7, 13


def login_form() -> Response:
    token = session.new_login_csrf()
    resp = show("login.html", login_csrf=token)
    session.set_cookie(resp, session.LOGIN_CSRF_COOKIE, token, 3600)
    return resp


def login() -> Response:
    c = session.admin_ctx()
    if not session.login_csrf_ok():
        return _refused("The form expired; please try again.", 400)
    username = request.form.get("username", "")[:64]
    try:
        result = operators.login(c.env, username, request.form.get("password", "")[:1024],
                                 c.dummy_hash, remote_addr=request.remote_addr)
    except operators.LoginThrottled as throttled:
        c.refusals.record(c.env, actor=None, attempted_by=username, action="auth.login",
                          target=f"user:{username}", outcome=audit.DENIED,
                          details={"reason": "address throttled", "via": "dashboard"},
                          remote_addr=request.remote_addr)
        return _refused(f"Too many failed logins; retry in {throttled.retry_after} s.", 429)
    except operators.LoginFailed as failed:
        audit.record(c.env, actor=None, attempted_by=username, action="auth.login",
                     target=f"user:{username}", outcome=audit.FAILURE,
                     details={"reason": failed.reason, "via": "dashboard"},
                     remote_addr=request.remote_addr)
        return _refused("Invalid username or password.", 401)
    user = result.user
    audit.record(c.env, actor=audit.Actor(user.username, user.id, user.role), action="auth.login",
                 target=f"user:{username}", outcome=audit.SUCCESS, details={"via": "dashboard"},
                 remote_addr=request.remote_addr)
    resp = redirect(f"{session.base_path()}/", 303)
    session.set_cookie(resp, session.COOKIE, result.token, c.cfg.token_lifetime_seconds)
    resp.delete_cookie(session.LOGIN_CSRF_COOKIE, path=session.base_path())
    return resp


def _refused(message: str, status: int) -> Response:
    token = session.new_login_csrf()
    resp = show("login.html", status, login_csrf=token, error=message)
    session.set_cookie(resp, session.LOGIN_CSRF_COOKIE, token, 3600)
    return resp


@session.page()
def logout() -> Response:
    c = session.admin_ctx()
    operators.logout(c.env, g.dashboard_owner)
    audit.record(c.env, actor=session.actor(), action="auth.logout",
                 target=f"user:{g.dashboard_owner.user_id}", outcome=audit.SUCCESS,
                 details={"via": "dashboard"}, remote_addr=request.remote_addr)
    resp = redirect(f"{session.base_path()}/login", 303)
    resp.delete_cookie(session.COOKIE, path=session.base_path())
    return resp


@session.page()
def overview() -> Response:
    env = session.admin_ctx().env
    now = env.clock()
    hour = now.replace(minute=0, second=0, microsecond=0)
    since = hour - timedelta(hours=DAYS * 24 - 1)
    with env.pool.connection() as conn:
        issued = stats.issued_per_hour(conn, since)
        expiring = stats.expiring_per_week(conn, now, WEEKS)
        order_failures, challenge_failures = stats.failures_since(conn, now - timedelta(days=DAYS))
        loops = session.dashboard_ctx().loops
        holders = stats.lock_holders(conn, list(loops.values()))
        dead_hooks, failed_mail = stats.dead_letters(conn)
    hours = [since + timedelta(hours=i) for i in range(DAYS * 24)]
    issuance = charts.bars([(f"{h:%a %d %b %H}:00", issued.get(h, 0)) for h in hours],
                           tick_every=24, tick_labels=[f"{h:%a %d}" for h in hours])
    weeks = [now + timedelta(weeks=i) for i in range(WEEKS)]
    timeline = charts.bars([(f"week of {w:%d %b %Y}", expiring.get(i, 0))
                            for i, w in enumerate(weeks)],
                           tick_every=2, tick_labels=[f"{w:%d %b}" for w in weeks])
    return show("overview.html", issuance=issuance, timeline=timeline,
                order_failures=order_failures, challenge_failures=challenge_failures,
                crl=crl.status(env), ocsp=_ocsp(env, now), leaders=_leaders(loops, holders),
                maintenance=maintenance.status(env), dead_hooks=dead_hooks,
                failed_mail=failed_mail, now=now)


def _ocsp(env: Any, now: datetime) -> dict[str, Any]:
    cfg = env.settings.ocsp
    if not cfg.enabled:
        return {"enabled": False}
    responder = session.dashboard_ctx().ocsp
    signer = responder.signer() if responder is not None else None
    until = signer.certificate.not_valid_after_utc if signer is not None else None
    return {"enabled": True, "delegated": bool(signer and signer.delegated),
            "signer_until": until, "signer_ok": until is not None and until > now,
            "validity": cfg.response_validity_seconds, "cache": cfg.cache_seconds}


def _leaders(loops: dict[str, int], holders: list[stats.LockHolder]) -> list[dict[str, Any]]:
    by_lock = {h.lock_id: h for h in holders}
    return [{"name": name, "lock_id": lock_id, "holder": by_lock.get(lock_id)}
            for name, lock_id in loops.items()]


@session.page(write=True)
def set_maintenance() -> Response:
    env = session.admin_ctx().env
    enabled = request.form.get("enabled") == "true"
    maintenance.set_enabled(env, enabled, actor=session.actor().username)
    audit.record(env, actor=session.actor(), action="maintenance.set", target="maintenance",
                 outcome=audit.SUCCESS, details={"enabled": enabled, "via": "dashboard"},
                 remote_addr=request.remote_addr)
    return redirect(f"{session.base_path()}/", 303)
