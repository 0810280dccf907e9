"""The events other parties hear about, each recorded INSIDE the transaction of the change
that causes it: e-mail notifications to the people concerned (authority.notifications) and
webhook deliveries to subscribed systems (authority.webhooks). A change that rolls back
records nothing; one that commits cannot lose its notices.

| event                 | e-mail (notifications kind)                      | webhook               |
|-----------------------|--------------------------------------------------|-----------------------|
| certificate issued    | certificate_issued                               | certificate.issued    |
| certificate revoked   | certificate_revoked (certificate_revoked_by_admin when an operator did it) | certificate.revoked |
| certificate expiring  | expiration_warning                               | certificate.expiring  |
| order invalid         | order_failed (when validation or issuance failed) | order.invalid        |
| account created       | eab_key_used, to the admin who made the EAB key  | account.created       |
| account deactivated   | account_deactivated                              | account.deactivated   |
| account key changed   | account_key_changed                              | -                     |
| maintenance changed   | -                                                | maintenance.changed   |
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from uuid import UUID
from typing import Any

from ..notify import Kind
from ..store import accounts as account_store
from ..store import admin as admin_store
from ..store import eab as eab_store
from ..store.certs import NewCertificate
from ..store.db import Connection
from ..store.maintenance import MaintenanceRow
from ..store.notices import ExpiringCertificate
from ..store.records import AccountRow, CertificateRow, OrderRow
from ..store.webhooks import NewEvent
from . import notifications, webhooks
from .env import Env
from .notifications import certificate_context, enqueue, revocation_context


def _certificate(cert: CertificateRow) -> dict[str, Any]:
    return {"certificate_id": cert.id, "serial": cert.serial, "account_id": cert.account_id,
            "order_id": cert.order_id, "names": list(cert.names),
            "not_before": cert.not_before, "not_after": cert.not_after}


def _account(account: AccountRow) -> dict[str, Any]:
    return {"account_id": account.id, "status": account.status, "contact": list(account.contact),
            "eab_kid": account.eab_kid}


def mails(env: Env, kind: Kind, account: AccountRow) -> bool:
    """Whether an event of `account` records a `kind` mail to its contacts (callers open a
    transaction only then; a webhook event alone goes into the statement of the change)."""
    return notifications.enabled(env, kind) and bool(notifications.recipients_of(account))


def certificate_issued(conn: Connection, env: Env, account: AccountRow,
                       cert: CertificateRow) -> None:
    """RFC 8555 §7.4 finalize stored a certificate."""
    enqueue(conn, env, Kind.CERTIFICATE_ISSUED, account, certificate_context(cert))
    webhooks.emit(conn, env, "certificate.issued", _certificate(cert))


def certificate_issued_hook(env: Env, cert: NewCertificate, order_id: UUID) -> NewEvent | None:
    """The certificate.issued webhook event of a certificate about to be stored, for the
    statement that stores it (states.complete_order); the same data certificate_issued
    records. None when webhooks are disabled."""
    return webhooks.new_event(env, "certificate.issued", {
        "certificate_id": cert.id, "serial": cert.serial, "account_id": cert.account_id,
        "order_id": order_id, "names": list(cert.names), "not_before": cert.not_before,
        "not_after": cert.not_after})


def certificate_revoked(conn: Connection, env: Env, cert: CertificateRow, *, by: str,
                        operator: str | None = None) -> None:
    """RFC 8555 §7.6 (by "account" or "certificate-key") or an operator ("operator")."""
    context = revocation_context(cert)
    owner = account_store.get_account(conn, cert.account_id)
    if by == "operator":
        enqueue(conn, env, Kind.CERTIFICATE_REVOKED_BY_ADMIN, owner,
                {**context, "operator": operator or "an operator"}, account_id=cert.account_id)
    else:
        enqueue(conn, env, Kind.CERTIFICATE_REVOKED, owner, context, account_id=cert.account_id)
    webhooks.emit(conn, env, "certificate.revoked",
                  {**_certificate(cert), "revoked_at": cert.revoked_at,
                   "reason": context["reason"], "reason_code": context["reason_code"],
                   "revoked_by": by})


def certificate_expiring(conn: Connection, env: Env, cert: ExpiringCertificate, *,
                         threshold_days: int, days_left: int) -> bool:
    """A certificate crossed a warning threshold; True when anyone will hear of it."""
    context = {"certificate_id": cert.id, "serial": cert.serial, "names": list(cert.names),
               "not_before": cert.not_before, "not_after": cert.not_after,
               "threshold_days": threshold_days, "days_left": days_left}
    mailed = enqueue(conn, env, Kind.EXPIRATION_WARNING, cert.contact, context,
                     account_id=cert.account_id)
    hooked = webhooks.emit(conn, env, "certificate.expiring",
                           {**context, "account_id": cert.account_id})
    return bool(mailed or hooked)


def order_invalid(conn: Connection, env: Env, order: OrderRow, *, failed: bool,
                  validation_error: Mapping[str, Any] | None = None) -> None:
    """An order became invalid. `failed`: validation or issuance failed (mail the account);
    otherwise it expired or its authorization was deactivated (webhook only)."""
    error = dict(order.error or {})
    data = {"order_id": order.id, "account_id": order.account_id,
            "identifiers": [i["value"] for i in order.identifiers], "error": error,
            "validation_error": dict(validation_error) if validation_error else None}
    webhooks.emit(conn, env, "order.invalid", data)
    if failed and notifications.enabled(env, Kind.ORDER_FAILED):
        account = account_store.get_account(conn, order.account_id)
        enqueue(conn, env, Kind.ORDER_FAILED, account, {
            **data, "error_type": str(error.get("type", "")).rpartition(":")[2] or "unknown",
            "error_detail": error.get("detail", ""), "failed_at": env.clock()})


def account_created(conn: Connection, env: Env, account: AccountRow) -> None:
    """newAccount (RFC 8555 §7.3); with an EAB key, its creator hears that it was used."""
    webhooks.emit(conn, env, "account.created", _account(account))
    if account.eab_kid and notifications.enabled(env, Kind.EAB_KEY_USED):
        key = eab_store.get_key(conn, account.eab_kid)
        admin = admin_store.find_user_by_name(conn, key.created_by) if key and key.created_by \
            else None
        if key is not None and admin is not None and not admin.disabled:
            enqueue(conn, env, Kind.EAB_KEY_USED, [f"mailto:{admin.email}"], {
                "kid": key.kid, "label": key.label, "account_id": account.id,
                "used_at": key.used_at or env.clock(), "admin": admin.username})


def account_deactivated(conn: Connection, env: Env, account: AccountRow, *, by: str) -> None:
    """RFC 8555 §7.3.6 (by "account") or an operator ("operator")."""
    now: datetime = env.clock()
    enqueue(conn, env, Kind.ACCOUNT_DEACTIVATED, account,
            {"account_id": account.id, "deactivated_at": now})
    webhooks.emit(conn, env, "account.deactivated",
                  {**_account(account), "deactivated_at": now, "deactivated_by": by})


def account_key_changed(conn: Connection, env: Env, account: AccountRow,
                        old_thumbprint: str) -> None:
    """RFC 8555 §7.3.5 key rollover: the contacts learn of it (a stolen key shows)."""
    enqueue(conn, env, Kind.ACCOUNT_KEY_CHANGED, account, {
        "account_id": account.id, "old_thumbprint": old_thumbprint,
        "new_thumbprint": account.thumbprint, "changed_at": env.clock()})


def maintenance_changed(conn: Connection, env: Env, row: MaintenanceRow) -> None:
    webhooks.emit(conn, env, "maintenance.changed",
                  {"enabled": row.enabled, "changed_by": row.changed_by,
                   "changed_at": row.changed_at})
