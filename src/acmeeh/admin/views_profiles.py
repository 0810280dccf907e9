"""Certificate profile restrictions: which profiles (ca.profiles) the account bound to an EAB
key, or one account, may name in newOrder (the ACME profiles extension)."""
from __future__ import annotations

import uuid

from flask import Response

from ..authority import profiles
from ..store import profile_restrictions as restriction_store
from ..store.profile_restrictions import ProfileRestrictionRow
from .blueprint import actor, audited, body, ctx, json_response, note
from .inputs import Query
from .render import ts
from .views_eab import _kid


def _render(scope: str, scope_id: str, row: ProfileRestrictionRow | None) -> dict:
    """`profiles` null: no restriction (every configured profile may be used)."""
    return {
        "scope": scope, "scope_id": scope_id,
        "profiles": row.profiles if row else None,
        "updated_by": row.updated_by if row else None,
        "updated_at": ts(row.updated_at) if row else None,
    }


def _get(scope: str, scope_id: str) -> Response:
    Query(())
    profiles.check_scope(ctx().env, scope, scope_id)  # 404 for an unknown key or account
    with ctx().env.pool.connection() as conn:
        row = restriction_store.get_restriction(conn, scope=scope, scope_id=scope_id)
    return json_response(_render(scope, scope_id, row))


def _set(scope: str, scope_id: str) -> Response:
    note(target=f"{scope}:{scope_id}")
    wanted = body("ProfileRestrictionUpdate")["profiles"]
    row = profiles.restrict(ctx().env, scope=scope, scope_id=scope_id, names=wanted,
                            actor=actor().username)
    note(profiles=wanted)
    return json_response(_render(scope, scope_id, row))


def get_eab_profiles(kid: str) -> Response:
    return _get("eab", _kid(kid))


@audited("eab.profiles")
def set_eab_profiles(kid: str) -> Response:
    return _set("eab", _kid(kid))


def get_account_profiles(account_id: uuid.UUID) -> Response:
    return _get("account", str(account_id))


@audited("account.profiles")
def set_account_profiles(account_id: uuid.UUID) -> Response:
    return _set("account", str(account_id))
