"""Parsed account keys by thumbprint, so a signed request does not re-parse the stored JWK.

A thumbprint (RFC 7638) names exactly one public key, so an entry can never be stale: a key
change gives the account a new thumbprint. The account row itself is still read on every
request, so a deactivation takes effect at once on every instance.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import josepy

from ..protocol import jws


class KeyCache:
    """A bounded, thread-safe LRU of thumbprint → josepy JWK."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._keys: OrderedDict[str, josepy.JWK] = OrderedDict()
        self._lock = threading.Lock()

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
