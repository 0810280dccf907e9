"""store/intents.py: the fused ready → processing statement that records the issuance intent,
and the intent's own compare-and-sets."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from support.rows import NOW, account, order

from acmeeh.protocol.status import OrderStatus
from acmeeh.store import intents
from acmeeh.store.paging import Page


def start(conn, order_id: uuid.UUID, serial: str):
    return intents.begin(conn, order_id, from_status=OrderStatus.READY,
                         to_status=OrderStatus.PROCESSING, serial=serial, names=["a.example"],
                         not_before=NOW, not_after=NOW + timedelta(days=90), spki_sha256="s" * 64)


def test_start_issuance_moves_the_order_and_records_the_intent(conn) -> None:
    owner = account(conn)
    order_id = order(conn, owner, "ready")
    moved = start(conn, order_id, "0abc")
    assert moved is not None and (moved.id, moved.status) == (order_id, OrderStatus.PROCESSING)
    intent = intents.get(conn, "0abc")
    assert intent is not None
    assert (intent.order_id, intent.account_id, intent.names, intent.der) == (
        order_id, owner, ["a.example"], None)
    assert intents.lock_for_order(conn, order_id) == intent == intents.lock(conn, "0abc")
    assert intents.list_page(conn, Page(limit=5)) == [intent]


@pytest.mark.parametrize("status", ["pending", "processing", "valid", "invalid"])
def test_start_issuance_records_nothing_unless_ready(conn, status: str) -> None:
    order_id = order(conn, account(conn), status)
    assert start(conn, order_id, "0abd") is None
    assert intents.get(conn, "0abd") is None
    assert conn.execute("SELECT status FROM orders WHERE id = %s", (order_id,)).fetchone() == (status,)


def keep(conn, order_id: uuid.UUID, serial: str, der: bytes, pem: str) -> bool:
    return intents.keep_signed(conn, order_id, serial=serial, der=der, pem_chain=pem,
                               not_before=NOW, not_after=NOW + timedelta(days=90), now=NOW)


def test_keep_signed_abandon_and_revoke_happen_once(conn) -> None:
    order_id = order(conn, account(conn), "ready")
    start(conn, order_id, "0abe")
    assert keep(conn, order_id, "0abe", b"\x30\x00", "pem")
    assert not keep(conn, order_id, "0abe", b"\x30\x01", "other")
    intents.abandon(conn, "0abe", NOW)
    intents.abandon(conn, "0abe", NOW + timedelta(hours=1))
    revoked = intents.set_revoked(conn, "0abe", reason=1, now=NOW)
    assert revoked is not None
    assert (revoked.der, revoked.pem_chain, revoked.abandoned_at, revoked.revocation_reason) == (
        b"\x30\x00", "pem", NOW, 1)
    assert intents.set_revoked(conn, "0abe", reason=4, now=NOW) is None


def test_keep_signed_takes_the_serial_the_ca_assigned(conn) -> None:
    """An upstream CA picks its own serial: the intent recorded under the planned one is kept
    under the serial actually signed, with the signed validity."""
    order_id = order(conn, account(conn), "ready")
    start(conn, order_id, "0acf")
    assert intents.keep_signed(conn, order_id, serial="7f01", der=b"\x30\x00", pem_chain="pem",
                               not_before=NOW - timedelta(hours=1),
                               not_after=NOW + timedelta(days=7), now=NOW)
    assert intents.get(conn, "0acf") is None
    kept = intents.get(conn, "7f01")
    assert kept is not None and kept.order_id == order_id and kept.der == b"\x30\x00"
    assert kept.not_after == NOW + timedelta(days=7)
