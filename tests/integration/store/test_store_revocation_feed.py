"""store/revocation_feed.py and the triggers of migration 0016: every committed change of a
stored certificate's revocation state, and every removal, is announced with its serial; a
change that rolls back, and an update that changes nothing of it, are not. These tests commit
(announcements are only delivered on commit), so they remove what they wrote."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import psycopg
import pytest
from support.rows import NOW, account, order

from acmeeh.protocol.status import OrderStatus
from acmeeh.store import certs
from acmeeh.store.certs import CertificateRow, NewCertificate
from acmeeh.store.revocation_feed import PING_PREFIX, RevocationFeed

WAIT = 5.0


@pytest.fixture
def feed(store_db: str) -> Iterator[RevocationFeed]:
    opened = RevocationFeed.open(store_db, connect_timeout=5)
    try:
        yield opened
    finally:
        opened.close()


@dataclass
class Writer:
    conn: psycopg.Connection
    owner: uuid.UUID

    def stored(self) -> CertificateRow:
        """A certificate stored (committed) for a new order of the owner."""
        cert = NewCertificate(
            id=uuid.uuid4(), serial=uuid.uuid4().hex, account_id=self.owner, der=b"\x30\x00",
            pem_chain="-----BEGIN CERTIFICATE-----\n", names=["a.example"], not_before=NOW,
            not_after=NOW + timedelta(days=90), fingerprint="f" * 64, spki_sha256="s" * 64)
        row, _ = certs.store_and_complete_order(
            self.conn, cert, order_id=order(self.conn, self.owner),
            from_status=OrderStatus.PROCESSING, to_status=OrderStatus.VALID)
        return row


@pytest.fixture
def writer(store_db: str) -> Iterator[Writer]:
    """Commits; its certificates, orders and account are removed at the end."""
    with psycopg.connect(store_db, autocommit=True) as conn:
        owner = account(conn)
        try:
            yield Writer(conn, owner)
        finally:
            conn.execute("UPDATE orders SET certificate_id = NULL, status = 'invalid'"
                         " WHERE account_id = %s", (owner,))
            conn.execute("DELETE FROM certificates WHERE account_id = %s", (owner,))
            conn.execute("DELETE FROM orders WHERE account_id = %s", (owner,))
            conn.execute("DELETE FROM accounts WHERE id = %s", (owner,))


def heard_until_ping(feed: RevocationFeed) -> list[str]:
    """Everything announced before a ping sent now (the ping comes back after them)."""
    token = uuid.uuid4().hex
    feed.ping(token)
    heard: list[str] = []
    for _ in range(50):  # bounded: each wait is at most WAIT / 50
        heard += feed.receive(WAIT / 50)
        if PING_PREFIX + token in heard:
            return [p for p in heard if not p.startswith(PING_PREFIX)]
    raise AssertionError(f"the ping did not come back; heard {heard}")


def test_a_revocation_is_announced_once_committed(feed, writer) -> None:
    cert = writer.stored()
    assert heard_until_ping(feed) == []  # storing a certificate announces nothing
    assert certs.set_revoked(writer.conn, cert.id, reason=1, now=NOW) is not None
    assert heard_until_ping(feed) == [cert.serial]


def test_a_rolled_back_revocation_and_a_no_change_update_are_not(feed, writer) -> None:
    cert = writer.stored()
    with pytest.raises(RuntimeError), writer.conn.transaction():
        certs.set_revoked(writer.conn, cert.id, reason=1, now=NOW)
        raise RuntimeError("roll back")
    writer.conn.execute("UPDATE certificates SET revoked_at = revoked_at WHERE id = %s", (cert.id,))
    assert heard_until_ping(feed) == []


def test_a_reason_change_and_a_removal_are_announced(feed, writer) -> None:
    cert = writer.stored()
    certs.set_revoked(writer.conn, cert.id, reason=1, now=NOW)
    writer.conn.execute("UPDATE certificates SET revocation_reason = 4 WHERE id = %s", (cert.id,))
    writer.conn.execute("UPDATE orders SET certificate_id = NULL, status = 'invalid'"
                        " WHERE id = %s", (cert.order_id,))
    writer.conn.execute("DELETE FROM certificates WHERE id = %s", (cert.id,))
    assert heard_until_ping(feed) == [cert.serial] * 3


def test_a_lost_connection_raises(feed, store_db) -> None:
    with psycopg.connect(store_db, autocommit=True) as admin:
        pid = feed._conn.info.backend_pid
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(psycopg.Error):
        for _ in range(20):  # bounded: the loss shows within a few waits
            feed.receive(0.25)
            feed.ping("x")
