"""Fixtures of the notification tests: a migrated database per module, an Env with a clock the
test moves, store-level seeders, and real SMTP servers on 127.0.0.1 (aiosmtpd)."""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from notify_support import Inbox, SmtpServer, make_settings, start_smtp, whole_second_clock
from psycopg_pool import ConnectionPool
from support.database import migrated_database
from support.store_env import Clock, autocommit_pool

from acmeeh.authority import states
from acmeeh.authority.env import Env
from acmeeh.store import accounts as account_store
from acmeeh.store import certs as cert_store
from acmeeh.store import orders as order_store
from acmeeh.store.certs import NewCertificate


@pytest.fixture(scope="module")
def db_url() -> Iterator[str]:
    """A fresh, migrated database for the module; dropped afterwards."""
    with migrated_database("nt") as url:
        yield url


@pytest.fixture(scope="module")
def pool(db_url: str) -> Iterator[ConnectionPool]:
    with autocommit_pool(db_url, max_size=6) as p:
        yield p


@pytest.fixture
def empty_outbox(pool: ConnectionPool) -> None:
    """Use in database tests: start with no notifications, notices or certificates (accounts may stay)."""
    with pool.connection() as conn:
        conn.execute("TRUNCATE notifications, certificate_expiration_notices")
        conn.execute("UPDATE orders SET certificate_id = NULL")
        conn.execute("DELETE FROM certificates")


@pytest.fixture
def make_env(db_url: str, pool: ConnectionPool) -> Callable[..., Env]:
    """make_env(overrides=None, clock=None) → Env on the module database."""

    def build(overrides: dict | None = None, clock: Clock | None = None) -> Env:
        return Env(settings=make_settings(db_url, overrides), pool=pool, ca=None, validator=None,
                   dispatch=lambda _challenge_id: None, clock=clock or whole_second_clock())

    return build


class Seed:
    """Accounts and certificates through the store functions (no ACME flow needed)."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def account(self, contact: list[str] | None = None, *, status: str = "valid") -> Any:
        account_id = uuid.uuid4()
        with self.pool.connection() as conn:
            row = account_store.insert_account(
                conn, account_id, jwk={"kty": "EC", "id": account_id.hex}, thumbprint=account_id.hex,
                spki_sha256=account_id.hex * 2, contact=list(contact if contact is not None else ["mailto:owner@example.test"]),
                tos_agreed=True)
            if status == "deactivated":
                row = account_store.set_deactivated(conn, account_id)
        return row

    def certificate(self, account: Any, *, not_after: datetime, revoked: bool = False,
                    names: list[str] | None = None) -> Any:
        order_id, cert_id = uuid.uuid4(), uuid.uuid4()
        names = names or [f"{cert_id.hex[:8]}.example.test"]
        with self.pool.connection() as conn, conn.transaction():
            order_store.create_order(
                conn, order_id, account_id=account.id, status="processing",
                identifiers=[{"type": "dns", "value": n} for n in names],
                expires=not_after, authorization_ids=[])
            stored = states.complete_order(conn, order_id, NewCertificate(  # as finalize does
                id=cert_id, serial=cert_id.hex[:20], account_id=account.id, der=b"\x30\x00",
                pem_chain="", names=names, not_before=not_after - timedelta(days=90),
                not_after=not_after, fingerprint=cert_id.hex, spki_sha256=cert_id.hex))
            assert stored is not None
            row = stored[0]
            if revoked:
                row = cert_store.set_revoked(conn, cert_id, reason=1, now=not_after - timedelta(days=60))
        return row


@pytest.fixture
def seed(pool: ConnectionPool) -> Seed:
    return Seed(pool)


@pytest.fixture
def smtp_factory() -> Iterator[Callable[..., SmtpServer]]:
    """smtp_factory(inbox=None, **controller_args) → a started server, stopped at teardown."""
    started: list[SmtpServer] = []

    def start(inbox: Inbox | None = None, **controller_args: Any) -> SmtpServer:
        server = start_smtp(inbox or Inbox(), **controller_args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.controller.stop()


@pytest.fixture
def smtp(smtp_factory: Callable[..., SmtpServer]) -> SmtpServer:
    """An accepting SMTP server on 127.0.0.1."""
    return smtp_factory()
