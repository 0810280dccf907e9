"""store/nonces.py: a nonce is redeemed once."""
from __future__ import annotations

import secrets

from support.rows import NOW

from acmeeh.store import nonces


def test_record_redeemed_once(conn) -> None:
    value = secrets.token_urlsafe(16)
    assert nonces.record_redeemed(conn, value, NOW) is True
    assert nonces.record_redeemed(conn, value, NOW) is False
