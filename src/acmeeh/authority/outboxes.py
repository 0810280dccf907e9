"""What the two delivery outboxes (email notifications and webhook deliveries) share: the
report of a batch, the exponential backoff between attempts and the operator's requeue of one
row."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar

from ..protocol import problems


class _Row(Protocol):
    @property
    def status(self) -> str: ...


R = TypeVar("R")


@dataclass
class Batch(Generic[R]):
    """What one batch of deliveries did: how many rows it claimed, and the rows done (sent,
    delivered), failed (tried again later) and given up (abandoned, dead)."""

    claimed: int = 0
    done: list[R] = field(default_factory=list)
    failed: list[R] = field(default_factory=list)
    given_up: list[R] = field(default_factory=list)

    def failure(self, row: R, *, retried: bool, log: logging.Logger, message: str,
                **extra: object) -> None:
        """File a failed row: under failed with a warning when it will be tried again, under
        given_up with an error when not."""
        (self.failed if retried else self.given_up).append(row)
        (log.warning if retried else log.error)(message, extra=extra)


def backoff(now: datetime, attempts: int, *, first: float, multiplier: float,
            most: float) -> datetime:
    """When the attempt after failed attempt number `attempts` (1-based) is due:
    now + min(first × multiplier^(attempts-1), most) seconds."""
    return now + timedelta(seconds=min(first * multiplier ** (attempts - 1), most))


def requeued(row: R | None, current: Callable[[], _Row | None], *, missing: str, what: str,
             wanted: str) -> R:
    """The row a requeue compare-and-set returned; when it returned none, 404 `missing` for
    a row that does not exist (`current` reads it), 409 for one in another status."""
    if row is not None:
        return row
    found = current()
    if found is None:
        raise problems.not_found(missing)
    raise problems.conflict(f"{what} is {found.status}, not {wanted}")
