"""The store tier: each test gets a connection inside a transaction that is rolled back when
the test ends, on one migrated database per pytest-xdist worker. Nothing a test writes is
seen by the next one, and no test pays for a database of its own."""
from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from support.database import migrated_database


@pytest.fixture(scope="session")
def store_db() -> Iterator[str]:
    with migrated_database("store") as url:
        yield url


@pytest.fixture
def conn(store_db: str) -> Iterator[psycopg.Connection]:
    """A connection whose work is rolled back after the test (as autocommit as the pool's
    connections are, inside one outer transaction; conn.transaction() blocks of the code
    under test become savepoints)."""
    with psycopg.connect(store_db, autocommit=True) as connection:
        tx = connection.transaction(force_rollback=True)
        with tx:
            yield connection
