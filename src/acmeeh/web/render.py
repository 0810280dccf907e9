"""Store records → ACME wire objects (RFC 8555 §7.1)."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..authority.authorizations import AuthzState
from ..authority.orders import OrderState
from ..protocol.status import AuthzStatus, ChallengeStatus, OrderStatus
from ..store.records import AccountRow, ChallengeRow
from .urls import Urls


def timestamp(dt: datetime) -> str:
    """RFC 3339 in UTC, as RFC 8555 §7.1 asks."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def account(row: AccountRow, urls: Urls) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": row.status,
        "contact": list(row.contact),
        "orders": urls.account_orders(row.id),
    }
    if row.tos_agreed:
        body["termsOfServiceAgreed"] = True
    return body


def order(state: OrderState, urls: Urls) -> dict[str, Any]:
    row = state.order
    body: dict[str, Any] = {
        "status": row.status,
        "expires": timestamp(row.expires),
        "identifiers": row.identifiers,
        "authorizations": [urls.authz(a.id) for a in state.authorizations],
        "finalize": urls.finalize(row.id),
    }
    if row.certificate_id is not None and row.status == OrderStatus.VALID:
        body["certificate"] = urls.certificate(row.certificate_id)
    if row.error is not None and row.status == OrderStatus.INVALID:
        body["error"] = row.error
    if row.replaces:
        body["replaces"] = row.replaces
    if row.profile:  # draft-ietf-acme-profiles §4
        body["profile"] = row.profile
    return body


def challenge(row: ChallengeRow, urls: Urls) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": row.type,
        "url": urls.challenge(row.id),
        "status": row.status,
        "token": row.token,
    }
    if row.validated_at is not None:
        body["validated"] = timestamp(row.validated_at)
    if row.error is not None:
        body["error"] = row.error
    return body


def authorization(state: AuthzState, urls: Urls) -> dict[str, Any]:
    a = state.authz
    body: dict[str, Any] = {
        "identifier": {"type": a.identifier_type, "value": a.identifier_value},
        "status": state.status,
        "expires": timestamp(a.expires),
        "challenges": [challenge(c, urls) for c in _shown(state)],
    }
    if a.wildcard:
        body["wildcard"] = True
    return body


def _shown(state: AuthzState) -> list[ChallengeRow]:
    """RFC 8555 §7.1.4: a valid authorization lists the challenge that was validated, an
    invalid one the challenge that failed; a pending one every challenge on offer."""
    if state.status in (AuthzStatus.VALID, AuthzStatus.INVALID):
        final = [c for c in state.challenges if c.status == ChallengeStatus(state.status)]
        if final:
            return final
    return state.challenges
