"""Blocked keys (RFC 8555 §7.6): list, block, get, unblock (each change audited)."""
from __future__ import annotations

import re

from cryptography.hazmat.primitives import serialization
from flask import Response

from ..authority import blocked_keys
from ..protocol import keys
from ..store import blocked_keys as blocked_store
from . import problems, render
from .blueprint import actor, audited, body, created, ctx, json_response, note, paged, shown
from .inputs import Query

_SPKI_HEX = re.compile(r"^[0-9a-f]{64}$")


def _hex(text: str) -> str | None:
    """An SPKI SHA-256 as written (hex, any case, colons allowed), canonical; else None."""
    value = text.strip().lower().replace(":", "")
    return value if _SPKI_HEX.match(value) else None


def _spki(text: str) -> str:
    """The path's key hash; one that cannot be a hash names no blocked key (404)."""
    value = _hex(text)
    if value is None:
        raise problems.not_found("this key is not blocked")
    return value


def _spki_of(data: dict) -> str:
    """The key named by a NewBlockedKey body: its hash, or a PEM public key."""
    if "spki_sha256" in data:
        value = _hex(data["spki_sha256"])
        if value is None:
            raise problems.bad_request("spki_sha256: 64 hexadecimal digits")
        return value
    try:
        public_key = serialization.load_pem_public_key(data["public_key"].encode())
    except (ValueError, TypeError, UnicodeError):
        raise problems.bad_request("public_key: a PEM SubjectPublicKeyInfo") from None
    return keys.spki_sha256(public_key)


def list_blocked_keys() -> Response:
    return paged(Query(("limit", "cursor")), blocked_store.list_page, render.blocked_key,
                 key=lambda r: r.spki_sha256)


@audited("blocked_key.add")
def block_key() -> Response:
    data = body("NewBlockedKey")
    spki = _spki_of(data)
    note(target=f"key:{spki}", comment=data.get("comment", ""))
    row = blocked_keys.block(ctx().env, spki, comment=data.get("comment", ""),
                             actor=f"admin:{actor().username}")
    return created(render.blocked_key(row), f"/blocked-keys/{row.spki_sha256}")


def get_blocked_key(spki_sha256: str) -> Response:
    return shown(lambda conn: blocked_store.get(conn, _spki(spki_sha256)), render.blocked_key,
                 "this key is not blocked")


@audited("blocked_key.remove")
def unblock_key(spki_sha256: str) -> Response:
    spki = _spki(spki_sha256)
    note(target=f"key:{spki}")
    row = blocked_keys.unblock(ctx().env, spki)
    note(source=row.source)
    return Response(status=204)
