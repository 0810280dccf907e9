"""An authority Env on a migrated test database, for tests that call the authority and the
workers directly (no HTTP): a settable clock, settings from a dict, a pool."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg_pool import ConnectionPool

from acmeeh.config.load import settings_from_dict

from .server import deep_merge


@dataclass
class Clock:
    """A settable UTC clock for Env.clock."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def settings_for(db_url: str, overrides: dict | None = None, *,
                 external_url: str = "http://127.0.0.1:1") -> Any:
    """Validated settings on `db_url`, with `overrides` merged in."""
    base = {"server": {"external_url": external_url}, "database": {"url": db_url}}
    return settings_from_dict(deep_merge(base, overrides or {}))


@contextmanager
def autocommit_pool(db_url: str, max_size: int) -> Iterator[ConnectionPool]:
    """An autocommit pool on `db_url`, as the application opens it."""
    with ConnectionPool(db_url, min_size=1, max_size=max_size, kwargs={"autocommit": True}) as p:
        yield p
