"""store/nonces.py: a nonce is redeemed once, alone or together with loading the account."""
from __future__ import annotations

import secrets
import uuid

from support.rows import NOW, account

from acmeeh.protocol.status import AccountStatus
from acmeeh.store import nonces


def test_record_redeemed_once(conn) -> None:
    value = secrets.token_urlsafe(16)
    assert nonces.record_redeemed(conn, value, NOW) is True
    assert nonces.record_redeemed(conn, value, NOW) is False


def test_redeem_loading_account(conn) -> None:
    owner = account(conn)
    value = secrets.token_urlsafe(16)
    found, fresh = nonces.redeem_loading_account(conn, value, NOW, owner)
    assert fresh and found is not None and found.id == owner and found.status is AccountStatus.VALID
    again, fresh = nonces.redeem_loading_account(conn, value, NOW, owner)
    assert not fresh and again == found  # a replay still reads the account
    nobody, fresh = nonces.redeem_loading_account(conn, secrets.token_urlsafe(16), NOW, uuid.uuid4())
    assert fresh and nobody is None
