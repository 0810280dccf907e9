"""Issuance intents (issue 11 item 5): serials the CA signed, or was about to sign, whose
certificate row was never stored. List, get (with the signed leaf when it was kept) and
revoke (audited); the CRL and OCSP then show the serial revoked."""
from __future__ import annotations

from flask import Response

from ..authority import intents
from ..store import intents as intent_store
from . import problems, render
from .blueprint import actor, audited, body, ctx, found, json_response, note, paged
from .inputs import Query
from .views_certs import normalize_serial


def _serial(text: str) -> str:
    """The path's serial; one that is not hexadecimal names no intent (404)."""
    try:
        return normalize_serial(text)
    except problems.AdminProblem:
        raise problems.not_found("no unstored issuance has this serial") from None


def list_intents() -> Response:
    return paged(Query(("limit", "cursor")), intent_store.list_page, render.intent,
                 key=lambda r: r.serial)


def get_intent(serial: str) -> Response:
    row = found(lambda conn: intent_store.get(conn, _serial(serial)),
                "no unstored issuance has this serial")
    return json_response({**render.intent(row), "pem": row.pem_chain})


@audited("issuance_intent.revoke")
def revoke_intent(serial: str) -> Response:
    value = _serial(serial)
    note(target=f"serial:{value}")
    reason = body("RevokeRequest", optional=True).get("reason", 0)
    note(reason=reason)
    row = intents.revoke(ctx().env, value, reason, operator=actor().username)
    return json_response(render.intent(row))
