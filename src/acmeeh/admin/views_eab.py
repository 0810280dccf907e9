"""External account binding keys and identifier allowlists."""
from __future__ import annotations

import re
import uuid

from flask import Response

from ..authority import allowlists, eab
from ..store import allowlists as allowlist_store
from ..store import eab as eab_store
from . import problems, render
from .blueprint import actor, audited, body, created, ctx, json_response, note, paged, shown
from .inputs import Query

KID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def _kid(kid: str) -> str:
    if not KID_PATTERN.match(kid):
        raise problems.not_found("no such EAB key")
    return kid


def list_eab_keys() -> Response:
    q = Query(("limit", "cursor", "status"))
    status = q.choice("status", ("unused", "used", "revoked"))
    return paged(q, lambda conn, page: eab_store.list_keys(conn, page, status=status),
                 render.eab_key, key=lambda r: r.kid)


@audited("eab.create")
def create_eab_key() -> Response:
    """A new key; the HMAC key is in this response only (base64url, RFC 8555 §7.3.4)."""
    data = body("NewEabKey", optional=True)
    row, hmac_key = eab.create_key(ctx().env, label=data.get("label", ""),
                                   created_by=actor().username)
    note(target=f"eab:{row.kid}", label=row.label)
    return created({**render.eab_key(row), "hmac_key": hmac_key}, f"/eab/{row.kid}")


def get_eab_key(kid: str) -> Response:
    return shown(lambda conn: eab_store.get_key(conn, _kid(kid)), render.eab_key,
                 "no such EAB key")


@audited("eab.revoke")
def revoke_eab_key(kid: str) -> Response:
    note(target=f"eab:{_kid(kid)}")
    body("Empty", optional=True)
    return json_response(render.eab_key(eab.revoke_key(ctx().env, kid)))


def list_allowlist() -> Response:
    q = Query(("limit", "cursor", "scope", "scope_id"))
    scope, scope_id = q.choice("scope", allowlists.SCOPES), q.text("scope_id")
    return paged(q, lambda conn, page: allowlist_store.list_entries(
        conn, page, scope=scope, scope_id=scope_id), render.allowlist_entry)


@audited("allowlist.add")
def add_allowlist_entry() -> Response:
    data = body("NewAllowlistEntry")
    row = allowlists.add_entry(ctx().env, scope=data["scope"], scope_id=data.get("scope_id") or "",
                               kind=data["kind"], value=data["value"], actor=actor().username)
    note(target=f"allowlist:{row.id}", scope=row.scope, scope_id=row.scope_id, kind=row.kind,
         value=row.value)
    return created(render.allowlist_entry(row), f"/allowlists/{row.id}")


def get_allowlist_entry(entry_id: uuid.UUID) -> Response:
    return shown(lambda conn: allowlist_store.get_entry(conn, entry_id), render.allowlist_entry,
                 "no such allowlist entry")


@audited("allowlist.remove", target="allowlist:{entry_id}")
def remove_allowlist_entry(entry_id: uuid.UUID) -> Response:
    row = allowlists.remove_entry(ctx().env, entry_id)
    note(scope=row.scope, kind=row.kind, value=row.value)
    return Response(status=204)
