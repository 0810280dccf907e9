"""External account binding (RFC 8555 §7.3.4): keys issued out of band by the admin API,
verified and bound once by newAccount."""
from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any

import josepy

from ..protocol import jws, problems
from ..store import eab as eab_store
from ..store.db import Connection
from ..store.eab import EabKeyRow
from .env import Env

# 256-bit keys for HS256 (RFC 7518 §3.2: a key at least as long as the hash output).
KEY_BYTES = 32


def create_key(env: Env, *, label: str, created_by: str | None) -> tuple[EabKeyRow, str]:
    """A new key: (row, base64url HMAC key). The HMAC key is returned here and never again."""
    kid = f"kid-{secrets.token_urlsafe(18)}"
    hmac_key = secrets.token_bytes(KEY_BYTES)
    with env.pool.connection() as conn:
        row = eab_store.insert_key(conn, kid, hmac_key=hmac_key, label=label, created_by=created_by)
    env.log.info("eab key created", extra={"kid": kid, "actor": created_by})
    return row, jws.b64url_encode(hmac_key)


def revoke_key(env: Env, kid: str) -> EabKeyRow:
    """Revoke an EAB key (it can no longer create an account); 404 unknown, 409 twice."""
    with env.pool.connection() as conn, conn.transaction():
        row = eab_store.revoke_key(conn, kid, env.clock())
        if row is None:
            if eab_store.get_key(conn, kid) is None:
                raise problems.not_found("no such EAB key")
            raise problems.conflict("the EAB key is already revoked")
    env.log.info("eab key revoked", extra={"kid": kid})
    return row


def verify(
    conn: Connection, binding: dict[str, Any], *, url: str, account_jwk: josepy.JWK
) -> str:
    """Check the binding's MAC with a usable (unrevoked, unused) key; return its kid.

    An unknown, revoked or already used key is `unauthorized`, like a bad MAC.
    """
    kid = jws.eab_kid(binding)
    hmac_key = eab_store.get_hmac_key(conn, kid)
    if hmac_key is None:
        raise problems.unauthorized("the external account binding key is unknown, used or revoked")
    return jws.verify_eab(binding, hmac_key=hmac_key, expected_kid=kid, url=url,
                          account_jwk=account_jwk)


def bind(conn: Connection, kid: str, account_id: uuid.UUID, now: datetime) -> None:
    """Mark the key used by the new account, in the account's transaction (once only)."""
    if eab_store.bind_key(conn, kid, account_id, now) is None:
        raise problems.unauthorized("the external account binding key was used concurrently")
