"""What the two delivery outboxes (email notifications and webhook deliveries) share: the
exponential backoff between attempts and the operator's requeue of one row."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from ..protocol import problems


class _Row(Protocol):
    @property
    def status(self) -> str: ...


R = TypeVar("R")


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
