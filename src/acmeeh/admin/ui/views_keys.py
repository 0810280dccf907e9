"""EAB keys (list, create: the HMAC key shown once, revoke), webhooks with their dead letters
(retry), and the audit log."""
from __future__ import annotations

import uuid

from flask import abort, redirect, request
from werkzeug.wrappers import Response

from ...authority import eab, webhooks
from ...store import audit as audit_store
from ...store import eab as eab_store
from ...store import webhooks as webhook_store
from ...store.audit import AuditFilter
from ...store.paging import Page
from .. import audit, render
from ..inputs import decode_cursor
from ..views_eab import KID_PATTERN
from . import session
from .blueprint import act, next_cursor, show

PAGE = 25
OUTCOMES = ("success", "failure", "denied")


@session.page()
def eab_keys() -> Response:
    status = request.args.get("status")
    status = status if status in ("unused", "used", "revoked") else None
    with session.admin_ctx().env.pool.connection() as conn:
        rows = eab_store.list_keys(conn, Page(100), status=status)
    return show("eab.html", items=[render.eab_key(r) for r in rows[:100]], shown=status or "")


@session.page(write=True)
def create_eab() -> Response:
    env = session.admin_ctx().env
    label = request.form.get("label", "").strip()[:200]
    row, hmac_key = eab.create_key(env, label=label, created_by=session.actor().username)
    audit.record(env, actor=session.actor(), action="eab.create", target=f"eab:{row.kid}",
                 outcome=audit.SUCCESS, details={"label": label, "via": "dashboard"},
                 remote_addr=request.remote_addr)
    return show("eab_created.html", key=render.eab_key(row), hmac_key=hmac_key)


@session.page(write=True)
def revoke_eab(kid: str) -> Response:
    if not KID_PATTERN.match(kid):
        abort(404, "No such EAB key.")
    act(lambda: eab.revoke_key(session.admin_ctx().env, kid), action="eab.revoke",
        target=f"eab:{kid}", missing="No such EAB key.")
    return redirect(f"{session.base_path()}/eab", 303)


@session.page()
def webhooks_page() -> Response:
    with session.admin_ctx().env.pool.connection() as conn:
        hooks = webhook_store.list_webhooks(conn, Page(100))
        dead = webhook_store.list_deliveries(conn, Page(PAGE), status=webhook_store.DeliveryStatus.DEAD)
    return show("webhooks.html", hooks=[render.webhook(h) for h in hooks[:100]],
                dead=[render.webhook_delivery(d) for d in dead[:PAGE]])


@session.page(write=True)
def retry_delivery(delivery_id: uuid.UUID) -> Response:
    act(lambda: webhooks.retry(session.admin_ctx().env, delivery_id), action="webhook.retry",
        target=f"webhook-delivery:{delivery_id}", missing=None)
    return redirect(f"{session.base_path()}/webhooks", 303)


@session.page()
def audit_log() -> Response:
    outcome = request.args.get("outcome")
    flt = AuditFilter(actor=(request.args.get("actor") or "").strip()[:64] or None,
                      action=(request.args.get("action") or "").strip()[:128] or None,
                      outcome=outcome if outcome in OUTCOMES else None)
    page = Page(PAGE)
    if request.args.get("cursor"):
        try:
            page = Page(PAGE, *decode_cursor(request.args["cursor"], uuid_key=True))
        except Exception:  # noqa: BLE001 - a bad cursor starts from the newest
            page = Page(PAGE)
    with session.admin_ctx().env.pool.connection() as conn:
        rows = audit_store.list_audit(conn, page, flt)
    return show("audit.html", items=[render.audit_event(r) for r in rows[:PAGE]],
                cursor=next_cursor(rows, PAGE), outcomes=OUTCOMES,
                query={k: request.args.get(k, "") for k in ("actor", "action", "outcome")})
