"""Fixtures of the notification tests: a migrated database per module, an Env with a clock the
test moves, store-level seeders, and real SMTP servers on 127.0.0.1 (aiosmtpd)."""
from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from psycopg_pool import ConnectionPool
from support.database import migrated_database
from support.dns import free_port
from support.server import deep_merge

from acmeeh.authority.env import Env
from acmeeh.config.load import settings_from_dict
from acmeeh.store import accounts as account_store
from acmeeh.store import certs as cert_store
from acmeeh.store import orders as order_store

SENDER = "acme-ca@example.test"
WAIT_SECONDS = 20.0


@pytest.fixture(scope="module")
def db_url() -> Iterator[str]:
    """A fresh, migrated database for the module; dropped afterwards."""
    with migrated_database("nt") as url:
        yield url


@pytest.fixture(scope="module")
def pool(db_url: str) -> Iterator[ConnectionPool]:
    with ConnectionPool(db_url, min_size=1, max_size=6, kwargs={"autocommit": True}) as p:
        yield p


@pytest.fixture
def empty_outbox(pool: ConnectionPool) -> None:
    """Use in database tests: start with no notifications, notices or certificates (accounts may stay)."""
    with pool.connection() as conn:
        conn.execute("TRUNCATE notifications, certificate_expiration_notices")
        conn.execute("UPDATE orders SET certificate_id = NULL")
        conn.execute("DELETE FROM certificates")


@dataclass
class Clock:
    """A settable UTC clock for Env.clock."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_settings(db_url: str, overrides: dict | None = None) -> Any:
    base = {"server": {"external_url": "https://acme.example.test"}, "database": {"url": db_url}}
    return settings_from_dict(deep_merge(base, overrides or {}))


def smtp_overrides(port: int, **extra: Any) -> dict:
    """notifications + smtp sections pointing at a loopback server without TLS."""
    smtp = {"enabled": True, "host": "127.0.0.1", "port": port, "use_tls": False,
            "from_address": SENDER, "timeout_seconds": 5}
    smtp.update(extra)
    return {"notifications": {"enabled": True}, "smtp": smtp}


@pytest.fixture
def make_env(db_url: str, pool: ConnectionPool) -> Callable[..., Env]:
    """make_env(overrides=None, clock=None) → Env on the module database."""

    def build(overrides: dict | None = None, clock: Clock | None = None) -> Env:
        return Env(settings=make_settings(db_url, overrides), pool=pool, ca=None, validator=None,
                   dispatch=lambda _challenge_id: None, clock=clock or Clock())

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
                contact=list(contact if contact is not None else ["mailto:owner@example.test"]),
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
                conn, order_id, account_id=account.id, status="valid",
                identifiers=[{"type": "dns", "value": n} for n in names],
                expires=not_after, authorization_ids=[])
            row = cert_store.insert_certificate(
                conn, cert_id, serial=cert_id.hex[:20], account_id=account.id, order_id=order_id,
                der=b"\x30\x00", pem_chain="", names=names, not_before=not_after - timedelta(days=90),
                not_after=not_after, fingerprint=cert_id.hex, spki_sha256=cert_id.hex)
            if revoked:
                row = cert_store.set_revoked(conn, cert_id, reason=1, now=not_after - timedelta(days=60))
        return row


@pytest.fixture
def seed(pool: ConnectionPool) -> Seed:
    return Seed(pool)


# --- SMTP on loopback -------------------------------------------------------------------
@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class Inbox:
    """aiosmtpd handler that stores messages. It refuses the first `refuse_first` messages with
    `refuse_reply` (at DATA) and can hold each message `delay` seconds."""

    def __init__(self, *, refuse_first: int = 0, refuse_reply: str = "451 4.3.0 Try again later",
                 delay: float = 0.0) -> None:
        self.refuse_first = refuse_first
        self.refuse_reply = refuse_reply
        self.delay = delay
        self.refused = 0
        self.messages: list[Received] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            if self.refused < self.refuse_first:
                self.refused += 1
                return self.refuse_reply
            raw = (envelope.original_content or envelope.content).replace(b"\r\n", b"\n")
            message = email.message_from_bytes(raw, policy=email.policy.default)
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 2.0.0 OK"

    def wait_for(self, count: int, timeout: float = WAIT_SECONDS) -> list[Received]:
        """Poll (bounded) until at least `count` messages arrived; return them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} messages within {timeout}s, got {len(self.messages)}")


@dataclass
class SmtpServer:
    inbox: Inbox
    port: int
    controller: Controller


def start_smtp(inbox: Inbox, port: int | None = None, **controller_args: Any) -> SmtpServer:
    port = port or free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=10,
                            **controller_args)
    controller.start()
    return SmtpServer(inbox, port, controller)


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


def statuses(pool: ConnectionPool) -> list[tuple[str, str, int]]:
    """(kind, status, attempts) of every outbox row, oldest first."""
    with pool.connection() as conn:
        rows = conn.execute(
            "SELECT kind, status, attempts FROM notifications ORDER BY created_at, recipient").fetchall()
    return [(k, s, int(a)) for k, s, a in rows]
