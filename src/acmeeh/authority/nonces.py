"""Anti-replay nonces (RFC 8555 §6.5): minted without a database write, redeemed once.

A nonce is base64url(expiry ‖ 16 random bytes ‖ HMAC-SHA256 tag), the tag under a key all
instances share (store.secrets). Minting costs no round trip; redeeming checks the tag and the
expiry, then records the nonce as used, so a replay on any instance is refused.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import struct
import uuid
from datetime import UTC, datetime
from typing import TypeVar

from ..store import accounts as account_store
from ..store import nonces as nonce_store
from ..store import secrets as secret_store
from ..store import signed_reads
from ..store.db import Connection
from ..store.records import AccountRow
from ..store.signed_reads import Reading
from .env import Env

T = TypeVar("T")

SECRET_NAME = "nonce-hmac-v1"
_TAG = 16
_BODY = 8 + 16
_LENGTH = _BODY + _TAG
# The one spelling new_nonce mints: unpadded base64url, ceil(40 * 8 / 6) = 54 characters.
_SPELLING = re.compile(r"[A-Za-z0-9_-]{%d}" % -(-_LENGTH * 8 // 6))


def load_key(conn: Connection) -> bytes:
    """The deployment's nonce key (created by the first instance that asks)."""
    return secret_store.shared_secret(conn, SECRET_NAME, secrets.token_bytes(32))


def _tag(key: bytes, body: bytes) -> bytes:
    return hmac.digest(key, body, hashlib.sha256)[:_TAG]


def new_nonce(env: Env) -> str:
    """A fresh nonce valid for nonce.lifetime_seconds."""
    expires = int(env.clock().timestamp()) + env.settings.nonce.lifetime_seconds
    body = struct.pack(">Q", expires) + secrets.token_bytes(16)
    return _spell(body + _tag(env.nonce_key, body))


def _spell(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _expiry(env: Env, value: str) -> datetime | None:
    """When a genuine, unexpired nonce expires; None for anything else.

    Only the exact spelling the server minted is accepted: base64 decoders forgive padding,
    stray characters and the unused low bits of the last character, and each such variant
    would be a distinct value in the table of redeemed nonces, so one nonce could be
    redeemed once per spelling (RFC 8555 §6.5 allows it once).
    """
    if not isinstance(value, str) or not _SPELLING.fullmatch(value) or not env.nonce_key:
        return None
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    if _spell(raw) != value:  # the unused low bits were set: not the spelling we minted
        return None
    body, tag = raw[:_BODY], raw[_BODY:]
    if not hmac.compare_digest(tag, _tag(env.nonce_key, body)):
        return None
    (expires,) = struct.unpack(">Q", body[:8])
    if expires <= env.clock().timestamp():
        return None
    return datetime.fromtimestamp(expires, UTC)


def redeem_reading(
    env: Env, conn: Connection, value: str, account_id: uuid.UUID, reading: Reading[T]
) -> tuple[AccountRow | None, bool, T | None]:
    """Consume a nonce, read the signing account and the resource `reading` names, in one
    round trip (the hot path of a kid-signed request); returns (account or None, nonce was
    fresh, the resource or None). A nonce that is not genuine is not recorded, and then
    nothing but the account is read."""
    expires_at = _expiry(env, value)
    if expires_at is None:
        return account_store.get_account(conn, account_id), False, None
    return signed_reads.redeem_reading(conn, value, expires_at, account_id, reading)


def redeem(env: Env, value: str, *, conn: Connection | None = None) -> bool:
    """Consume a nonce; False when it is forged, malformed, expired or already used.

    `conn` lets a caller that already holds a connection save a pool checkout.
    """
    expires_at = _expiry(env, value)
    if expires_at is None:
        return False
    if conn is not None:
        return nonce_store.record_redeemed(conn, value, expires_at)
    with env.pool.connection() as own:
        return nonce_store.record_redeemed(own, value, expires_at)
