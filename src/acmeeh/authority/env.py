"""The wired dependencies every authority function receives (built once in create_app)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

from ..config.settings import Settings
from ..issuance.backend import CABackend
from ..issuance.lint import Linter
from ..store.db import Pool
from ..validation import Validator

# What Env.clock is: the current time, timezone-aware (tests pass a fixed or moving one).
Clock = Callable[[], datetime]


class ValidationQueueFull(Exception):
    """dispatch refused a challenge: this process already holds challenges.validation_queue_size
    validations (queued, running or waiting for a retry)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class Dispatch(Protocol):
    """Queue the validation of a challenge off the request thread (workers.validation)."""

    def __call__(self, challenge_id: UUID, delay: float = 0.0) -> None: ...


@dataclass(frozen=True)
class Env:
    """Settings, database pool, CA backend, validator, clock and the validation dispatcher.

    `dispatch(challenge_id, delay=0.0)` queues a validation off the request thread (workers
    room), after `delay` seconds for a retry, and raises ValidationQueueFull when the queue
    is full; tests may pass a synchronous one. `nonce_key` signs nonces (empty: none are
    accepted). `linter` is settings.lint's pkilint checker, None when lint is off.
    `account_url(id)` is an account's URL as the ACME API hands it out.
    """

    settings: Settings
    pool: Pool
    ca: CABackend
    validator: Validator
    dispatch: Dispatch
    clock: Clock = utc_now
    nonce_key: bytes = field(default=b"", repr=False)  # authority.nonces.load_key
    # The account URL clients see (web.urls), for CAA accounturi (RFC 8657); None matches none.
    account_url: Callable[[UUID], str] | None = None
    linter: Linter | None = None  # lint.enabled: every leaf is linted before it is stored
    # ca.alternate_chains as served after a leaf (RFC 8555 §7.4.2), trust anchors left out.
    alternate_chains: tuple[str, ...] = ()
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("acmeeh.authority"))
