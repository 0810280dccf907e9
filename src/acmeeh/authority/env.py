"""The wired dependencies every authority function receives (built once in create_app)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from ..store.db import Pool


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Env:
    """Settings, database pool, CA backend, validator, clock and the validation dispatcher.

    `dispatch(challenge_id)` queues a validation off the request thread (workers room);
    tests may pass a synchronous one. `nonce_key` signs nonces (empty: none are accepted).
    """

    settings: Any
    pool: Pool
    ca: Any
    validator: Any
    dispatch: Callable[[UUID], None]
    clock: Callable[[], datetime] = utc_now
    nonce_key: bytes = field(default=b"", repr=False)  # authority.nonces.load_key
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("acmeeh.authority"))
