"""Fixtures of the worker tests: a migrated database per module, an Env on it with a clock the
test moves, and SQL seeders (tests may write rows directly to set up stale or expired state)."""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool
from support.database import migrated_database
from support.store_env import Clock, autocommit_pool, settings_for

from acmeeh.authority.env import Env


@pytest.fixture(scope="module")
def db_url() -> Iterator[str]:
    """A fresh, migrated database for the module; dropped afterwards."""
    with migrated_database("wk") as url:
        yield url


@pytest.fixture(scope="module")
def pool(db_url: str) -> Iterator[ConnectionPool]:
    with autocommit_pool(db_url, max_size=4) as p:
        yield p


@dataclass
class Harness:
    env: Env
    clock: Clock
    dispatched: list[uuid.UUID]


@pytest.fixture
def make_env(db_url: str, pool: ConnectionPool) -> Callable[..., Harness]:
    """make_env(overrides=None) → Harness(env, clock, dispatched) on the module database."""

    def build(overrides: dict | None = None) -> Harness:
        clock, dispatched = Clock(), []
        env = Env(settings=settings_for(db_url, overrides), pool=pool, ca=None, validator=None,
                  dispatch=dispatched.append, clock=clock)
        return Harness(env, clock, dispatched)

    return build


# --- seeders (plain SQL; ids are returned for later checks) ---------------------------------
class Seed:
    """Insert accounts, orders, authorizations, challenges and certificates directly."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def account(self) -> uuid.UUID:
        aid = uuid.uuid4()
        self.conn.execute(
            "INSERT INTO accounts (id, jwk, thumbprint, status) VALUES (%s, %s, %s, 'valid')",
            (aid, json.dumps({"kty": "EC"}), aid.hex))
        return aid

    def authz(self, account: uuid.UUID, *, status: str = "pending", expires: datetime,
              challenges: tuple[str, ...] = ("http-01", "dns-01")) -> uuid.UUID:
        zid = uuid.uuid4()
        self.conn.execute(
            "INSERT INTO authorizations (id, account_id, identifier_type, identifier_value, status,"
            " expires) VALUES (%s, %s, 'dns', %s, %s, %s)",
            (zid, account, f"{zid.hex[:8]}.example", status, expires))
        for kind in challenges:
            self.conn.execute(
                "INSERT INTO challenges (id, authorization_id, type, token, status)"
                " VALUES (%s, %s, %s, %s, 'pending')", (uuid.uuid4(), zid, kind, uuid.uuid4().hex))
        return zid

    def order(self, account: uuid.UUID, *, status: str = "pending", expires: datetime,
              authzs: tuple[uuid.UUID, ...] = (), updated_at: datetime | None = None) -> uuid.UUID:
        oid = uuid.uuid4()
        self.conn.execute(
            "INSERT INTO orders (id, account_id, status, identifiers, expires, updated_at)"
            " VALUES (%s, %s, %s, '[]', %s, COALESCE(%s, now()))",
            (oid, account, status, expires, updated_at))
        for zid in authzs:
            self.conn.execute("INSERT INTO order_authorizations VALUES (%s, %s)", (oid, zid))
        return oid

    def certificate(self, account: uuid.UUID, order: uuid.UUID, *, not_after: datetime) -> uuid.UUID:
        cid = uuid.uuid4()
        with self.conn.transaction():
            self.conn.execute(
                "INSERT INTO certificates (id, serial, account_id, order_id, der, pem_chain, names,"
                " not_before, not_after, fingerprint, spki_sha256) VALUES"
                " (%s, %s, %s, %s, '\\x00', '', '{a.example}', %s, %s, '', '')",
                (cid, cid.hex, account, order, not_after - timedelta(days=90), not_after))
            self.conn.execute("UPDATE orders SET status = 'valid', certificate_id = %s WHERE id = %s",
                              (cid, order))
        return cid

    def one(self, query: str, *params: Any) -> Any:
        row = self.conn.execute(query, params).fetchone()
        return row[0] if row and len(row) == 1 else row


@pytest.fixture
def seed(db_url: str) -> Iterator[Seed]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        yield Seed(conn)
