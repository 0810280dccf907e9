"""Blocked keys (RFC 8555 §7.6): keys reported compromised are never used again.

A key is blocked when a certificate is revoked for keyCompromise (by its account, an
authorized account, its own key or an operator) or when an operator blocks it. A blocked key
is refused everywhere a key enters: newAccount and keyChange (badPublicKey), finalize
(badCSR). Operators list, add and remove blocked keys through the admin API (audited there).
"""
from __future__ import annotations

from ..protocol import problems
from ..store import blocked_keys as blocked_store
from ..store.blocked_keys import BlockedKeyRow
from ..store.db import Connection
from .env import Env


def refuse_if_blocked(conn: Connection, spki_sha256: str) -> None:
    """badPublicKey when an account key is blocked (newAccount, keyChange)."""
    if blocked_store.is_blocked(conn, spki_sha256):
        raise problems.bad_public_key(
            "this key is blocked: a certificate for it was revoked as compromised (RFC 8555 §7.6)"
        )


def block(env: Env, spki_sha256: str, *, comment: str, actor: str) -> BlockedKeyRow:
    """An operator blocks a key; 409 when it is blocked already."""
    with env.pool.connection() as conn:
        row = blocked_store.insert(conn, spki_sha256, source="admin", certificate_id=None,
                                   comment=comment, created_by=actor)
    if row is None:
        raise problems.conflict("this key is blocked already")
    env.log.warning("key blocked by an operator", extra={"spki_sha256": spki_sha256})
    return row


def unblock(env: Env, spki_sha256: str) -> BlockedKeyRow:
    """An operator lifts a block; 404 when the key is not blocked."""
    with env.pool.connection() as conn:
        row = blocked_store.delete(conn, spki_sha256)
    if row is None:
        raise problems.not_found("this key is not blocked")
    env.log.warning("key unblocked by an operator", extra={"spki_sha256": spki_sha256})
    return row
