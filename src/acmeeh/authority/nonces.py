"""Anti-replay nonces (RFC 8555 §6.5), stored so any instance redeems what another issued."""
from __future__ import annotations

import secrets
from datetime import timedelta

from ..store import nonces as nonce_store
from .env import Env


def new_nonce(env: Env) -> str:
    """Issue a nonce valid for nonce.lifetime_seconds."""
    value = secrets.token_urlsafe(16)
    expires = env.clock() + timedelta(seconds=env.settings.nonce.lifetime_seconds)
    with env.pool.connection() as conn:
        nonce_store.insert_nonce(conn, value, expires)
    return value


def redeem(env: Env, value: str) -> bool:
    """Consume a nonce; False when it is unknown, used or expired."""
    if not value or len(value) > 128:
        return False
    with env.pool.connection() as conn:
        return nonce_store.redeem_nonce(conn, value, env.clock())
