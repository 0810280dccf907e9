"""Rows → admin API JSON (the shapes of components.schemas in openapi.yaml). Secrets
(password hashes, EAB HMAC keys, token hashes) have no field here and so never leave."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..store.admin import AdminUserRow
from ..store.allowlists import AllowlistRow
from ..store.audit import AuditRow
from ..store.blocked_keys import BlockedKeyRow
from ..store.eab import EabKeyRow
from ..store.intents import IntentRow
from ..store.maintenance import MaintenanceRow
from ..store.records import AccountRow, AuthzRow, CertificateRow, ChallengeRow, OrderRow


def ts(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with microseconds, or None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def user(row: AdminUserRow, now: datetime) -> dict[str, Any]:
    return {
        "id": str(row.id), "username": row.username, "email": row.email, "role": row.role,
        "disabled": row.disabled,
        "locked": row.locked_until is not None and row.locked_until > now,
        "locked_until": ts(row.locked_until), "last_login_at": ts(row.last_login_at),
        "created_at": ts(row.created_at), "updated_at": ts(row.updated_at),
    }


def account(row: AccountRow) -> dict[str, Any]:
    return {
        "id": str(row.id), "status": row.status, "contact": list(row.contact),
        "thumbprint": row.thumbprint, "jwk": row.jwk, "tos_agreed": row.tos_agreed,
        "eab_kid": row.eab_kid, "created_at": ts(row.created_at), "updated_at": ts(row.updated_at),
    }


def order(row: OrderRow) -> dict[str, Any]:
    return {
        "id": str(row.id), "account_id": str(row.account_id), "status": row.status,
        "identifiers": row.identifiers, "expires": ts(row.expires),
        "not_before": ts(row.not_before), "not_after": ts(row.not_after), "error": row.error,
        "certificate_id": str(row.certificate_id) if row.certificate_id else None,
        "replaces": row.replaces, "created_at": ts(row.created_at),
        "updated_at": ts(row.updated_at),
    }


def authorization(row: AuthzRow) -> dict[str, Any]:
    value = f"*.{row.identifier_value}" if row.wildcard else row.identifier_value
    return {
        "id": str(row.id), "account_id": str(row.account_id),
        "identifier": {"type": row.identifier_type, "value": value},
        "wildcard": row.wildcard, "status": row.status, "expires": ts(row.expires),
        "created_at": ts(row.created_at), "updated_at": ts(row.updated_at),
    }


def challenge(row: ChallengeRow) -> dict[str, Any]:
    return {
        "id": str(row.id), "type": row.type, "status": row.status, "token": row.token,
        "validated_at": ts(row.validated_at), "error": row.error, "records": row.records,
        "attempts": row.attempts, "created_at": ts(row.created_at),
        "updated_at": ts(row.updated_at),
    }


def certificate_status(row: CertificateRow, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    return "valid" if row.not_after > now else "expired"


def certificate(row: CertificateRow, now: datetime) -> dict[str, Any]:
    return {
        "id": str(row.id), "serial": row.serial, "account_id": str(row.account_id),
        "order_id": str(row.order_id), "names": list(row.names),
        "not_before": ts(row.not_before), "not_after": ts(row.not_after),
        "fingerprint": row.fingerprint, "status": certificate_status(row, now),
        "revoked_at": ts(row.revoked_at), "revocation_reason": row.revocation_reason,
        "created_at": ts(row.created_at),
    }


def intent(row: IntentRow) -> dict[str, Any]:
    """An issuance intent, without its leaf (the detail view adds `pem`)."""
    return {
        "serial": row.serial, "order_id": str(row.order_id), "account_id": str(row.account_id),
        "names": list(row.names), "not_before": ts(row.not_before), "not_after": ts(row.not_after),
        "spki_sha256": row.spki_sha256, "leaf_kept": row.der is not None,
        "signed_at": ts(row.signed_at), "abandoned_at": ts(row.abandoned_at),
        "revoked_at": ts(row.revoked_at), "revocation_reason": row.revocation_reason,
        "created_at": ts(row.created_at),
    }


def eab_key(row: EabKeyRow) -> dict[str, Any]:
    status = "revoked" if row.revoked_at else ("used" if row.used_at else "unused")
    return {
        "kid": row.kid, "label": row.label, "status": status,
        "account_id": str(row.account_id) if row.account_id else None,
        "used_at": ts(row.used_at), "revoked_at": ts(row.revoked_at),
        "created_by": row.created_by, "created_at": ts(row.created_at),
    }


def allowlist_entry(row: AllowlistRow) -> dict[str, Any]:
    return {
        "id": str(row.id), "scope": row.scope, "scope_id": row.scope_id or None,
        "kind": row.kind, "value": row.value, "created_by": row.created_by,
        "created_at": ts(row.created_at),
    }


def audit_event(row: AuditRow) -> dict[str, Any]:
    return {
        "id": str(row.id), "actor": row.actor,
        "actor_id": str(row.actor_id) if row.actor_id else None, "action": row.action,
        "target": row.target, "outcome": row.outcome, "details": row.details,
        "remote_addr": row.remote_addr, "created_at": ts(row.created_at),
    }


def maintenance(row: MaintenanceRow) -> dict[str, Any]:
    return {"enabled": row.enabled, "changed_by": row.changed_by,
            "changed_at": ts(row.changed_at)}


def notification(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.id), "kind": row.kind, "recipient": row.recipient,
        "account_id": str(row.account_id) if row.account_id else None, "status": row.status,
        "attempts": row.attempts, "next_attempt_at": ts(row.next_attempt_at),
        "last_error": row.last_error, "sent_at": ts(row.sent_at),
        "created_at": ts(row.created_at), "updated_at": ts(row.updated_at),
    }


def crl(row: Any) -> dict[str, Any]:
    return {"number": row.number, "this_update": ts(row.this_update),
            "next_update": ts(row.next_update), "entries": row.entries}


def crl_status(report: dict[str, Any]) -> dict[str, Any]:
    """authority.crl.status → CrlStatus (times as RFC 3339 in UTC)."""
    def when(key: str) -> str | None:
        value = report.get(key)
        return ts(datetime.fromisoformat(value)) if value else None
    return {"status": report["status"], "stale": bool(report.get("stale")),
            "number": report.get("number"), "this_update": when("this_update"),
            "next_update": when("next_update")}


def renewal_window(cert_id: Any, serial: str, info: Any) -> dict[str, Any]:
    return {"certificate_id": str(cert_id), "serial": serial, "start": ts(info.start),
            "end": ts(info.end), "explanation_url": info.explanation_url,
            "source": info.source, "retry_after": info.retry_after}


def blocked_key(row: BlockedKeyRow) -> dict[str, Any]:
    return {
        "spki_sha256": row.spki_sha256, "source": row.source,
        "certificate_id": str(row.certificate_id) if row.certificate_id else None,
        "comment": row.comment, "created_by": row.created_by, "created_at": ts(row.created_at),
    }


def webhook(row: Any) -> dict[str, Any]:
    """A subscription, never its secret."""
    return {"id": str(row.id), "url": row.url, "events": list(row.events),
            "description": row.description, "enabled": row.enabled,
            "created_by": row.created_by, "created_at": ts(row.created_at),
            "updated_at": ts(row.updated_at)}


def webhook_delivery(row: Any) -> dict[str, Any]:
    return {"id": str(row.id), "webhook_id": str(row.webhook_id),
            "event_id": str(row.event_id), "event": row.event, "status": row.status,
            "attempts": row.attempts, "next_attempt_at": ts(row.next_attempt_at),
            "last_error": row.last_error, "last_status": row.last_status,
            "delivered_at": ts(row.delivered_at), "payload": row.payload,
            "created_at": ts(row.created_at), "updated_at": ts(row.updated_at)}
