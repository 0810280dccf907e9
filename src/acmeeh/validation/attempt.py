"""What one validation attempt works with: the same for every challenge method."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from acmeeh.protocol.identifiers import Identifier

from .network import AddressPolicy
from .resolver import Resolver


@dataclass(frozen=True)
class ValidationAttempt:
    """One attempt to prove control of `identifier` for a challenge (RFC 8555 §8): the
    challenge's token and the key authorization the client must show, the resolver and the
    address policy every connection goes through, and `records`, to which the method
    appends what it contacted (the challenge's validationRecord)."""

    identifier: Identifier
    token: str
    key_authorization: str
    resolver: Resolver
    policy: AddressPolicy
    records: list[dict[str, Any]]
