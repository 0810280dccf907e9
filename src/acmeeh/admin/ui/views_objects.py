"""Certificates (search, detail, PEM download, revoke) and accounts (search, detail,
deactivate)."""
from __future__ import annotations

import uuid

from flask import abort, redirect, request
from werkzeug.wrappers import Response

from ...authority import accounts, revocation
from ...store import accounts as account_store
from ...store import certs as cert_store
from ...store import orders as order_store
from ...store import search
from ...store.paging import Page
from .. import render
from ..inputs import decode_cursor
from . import session
from .blueprint import act, next_cursor, show

PAGE = 25
REASONS = ((0, "unspecified"), (1, "keyCompromise"), (3, "affiliationChanged"),
           (4, "superseded"), (5, "cessationOfOperation"), (9, "privilegeWithdrawn"))
CERT_STATUSES = ("valid", "expired", "revoked")


def _page() -> Page:
    cursor = request.args.get("cursor")
    if not cursor:
        return Page(PAGE)
    try:
        created, key = decode_cursor(cursor, uuid_key=True)
    except Exception:  # noqa: BLE001 - any bad cursor starts again from the newest
        return Page(PAGE)
    return Page(PAGE, created, key)


def _arg(name: str, limit: int = 256) -> str | None:
    value = (request.args.get(name) or "").strip()
    return value[:limit] if value else None


@session.page()
def certificates() -> Response:
    env = session.admin_ctx().env
    now = env.clock()
    serial = _arg("serial", 128)
    if serial is not None:
        serial = serial.lower().replace(":", "").lstrip("0") or "0"
        if any(c not in "0123456789abcdef" for c in serial):
            serial = "-"  # matches nothing
    status = _arg("status")
    flt = search.CertificateFilter(serial=serial, name=_arg("name"), now=now,
                                   status=status if status in CERT_STATUSES else None)
    with env.pool.connection() as conn:
        rows = search.list_certificates(conn, _page(), flt)
    items = [render.certificate(r, now) for r in rows[:PAGE]]
    return show("certificates.html", items=items, cursor=next_cursor(rows, PAGE),
                query={k: request.args.get(k, "") for k in ("serial", "name", "status")},
                statuses=CERT_STATUSES)


def _certificate(cert_id: uuid.UUID):  # noqa: ANN202
    with session.admin_ctx().env.pool.connection() as conn:
        row = cert_store.get_certificate(conn, cert_id)
    if row is None:
        abort(404, "No such certificate.")
    return row


@session.page()
def certificate(cert_id: uuid.UUID) -> Response:
    row = _certificate(cert_id)
    now = session.admin_ctx().env.clock()
    return show("certificate.html", cert=render.certificate(row, now), pem=row.pem_chain,
                reasons=REASONS)


@session.page()
def certificate_pem(cert_id: uuid.UUID) -> Response:
    row = _certificate(cert_id)
    resp = Response(row.pem_chain, content_type="application/pem-certificate-chain")
    resp.headers["Content-Disposition"] = f'attachment; filename="{row.serial}.pem"'
    return resp


@session.page(write=True)
def revoke(cert_id: uuid.UUID) -> Response:
    reason = request.form.get("reason", "0")
    code = int(reason) if reason.isdigit() and int(reason) in dict(REASONS) else 0
    act(lambda: revocation.revoke_by_admin(session.admin_ctx().env, cert_id, code,
                                           operator=session.actor().username),
        action="certificate.revoke", target=f"certificate:{cert_id}",
        missing="No such certificate.", reason=code)
    return redirect(f"{session.base_path()}/certificates/{cert_id}", 303)


@session.page()
def accounts_page() -> Response:
    env = session.admin_ctx().env
    status = _arg("status")
    flt = search.AccountFilter(contact=_arg("contact"),
                               status=status if status in ("valid", "deactivated",
                                                           "revoked") else None)
    with env.pool.connection() as conn:
        rows = search.list_accounts(conn, _page(), flt)
    return show("accounts.html", items=[render.account(r) for r in rows[:PAGE]],
                cursor=next_cursor(rows, PAGE),
                query={k: request.args.get(k, "") for k in ("contact", "status")})


@session.page()
def account(account_id: uuid.UUID) -> Response:
    env = session.admin_ctx().env
    now = env.clock()
    with env.pool.connection() as conn:
        row = account_store.get_account(conn, account_id)
        if row is None:
            abort(404, "No such account.")
        count = order_store.count_account_orders(conn, row.id)
        certs = search.list_certificates(conn, Page(PAGE),
                                         search.CertificateFilter(account_id=row.id, now=now))
    return show("account.html", account=render.account(row), order_count=count,
                certs=[render.certificate(c, now) for c in certs[:PAGE]])


@session.page(write=True)
def deactivate(account_id: uuid.UUID) -> Response:
    act(lambda: accounts.deactivate_by_admin(session.admin_ctx().env, account_id),
        action="account.deactivate", target=f"account:{account_id}", missing="No such account.")
    return redirect(f"{session.base_path()}/accounts/{account_id}", 303)
