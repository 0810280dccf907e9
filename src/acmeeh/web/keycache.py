"""Parsed account keys, so a signed request neither re-parses the stored JWK nor waits for
the account row before checking its signature.

A thumbprint (RFC 7638) names exactly one public key, so a thumbprint entry is never stale.
The account → key entries are hints: the envelope still reads the account row on every
request and compares thumbprints, so a key change or a deactivation takes effect at once on
every instance.
"""
from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from typing import Any

import josepy

from ..protocol import jws


class KeyCache:
    """A bounded, thread-safe LRU of thumbprint → josepy JWK."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._keys: OrderedDict[str, josepy.JWK] = OrderedDict()
        self._accounts: OrderedDict[uuid.UUID, tuple[str, josepy.JWK]] = OrderedDict()
        self._lock = threading.Lock()

    def for_account(self, account_id: uuid.UUID) -> tuple[str, josepy.JWK] | None:
        """(thumbprint, key) last seen for the account, if any."""
        with self._lock:
            return self._accounts.get(account_id)

    def remember(self, account_id: uuid.UUID, thumbprint: str, key: josepy.JWK) -> None:
        with self._lock:
            self._accounts[account_id] = (thumbprint, key)
            self._accounts.move_to_end(account_id)
            if len(self._accounts) > self._size:
                self._accounts.popitem(last=False)

    def get(self, thumbprint: str, stored_jwk: dict[str, Any]) -> josepy.JWK:
        with self._lock:
            key = self._keys.get(thumbprint)
            if key is not None:
                self._keys.move_to_end(thumbprint)
                return key
        key = jws.parse_jwk(stored_jwk)
        with self._lock:
            self._keys[thumbprint] = key
            if len(self._keys) > self._size:
                self._keys.popitem(last=False)
        return key
