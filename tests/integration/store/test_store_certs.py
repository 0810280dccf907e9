"""store/certs.py: the fused processing → valid statement (with the webhook event it may
announce) and the certificate reads."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from support.rows import NOW, account, order

from acmeeh.protocol.status import OrderStatus
from acmeeh.store import certs, intents, webhooks
from acmeeh.store.certs import NewCertificate
from acmeeh.store.webhooks import NewEvent


def new_cert(account_id: uuid.UUID, serial: str | None = None) -> NewCertificate:
    return NewCertificate(
        id=uuid.uuid4(), serial=serial or uuid.uuid4().hex, account_id=account_id, der=b"\x30\x00",
        pem_chain="-----BEGIN CERTIFICATE-----\n", names=["a.example"], not_before=NOW,
        not_after=NOW + timedelta(days=90), fingerprint="f" * 64, spki_sha256="s" * 64,
    )


def complete(conn, cert: NewCertificate, order_id: uuid.UUID):
    return certs.store_and_complete_order(conn, cert, order_id=order_id,
                                          from_status=OrderStatus.PROCESSING,
                                          to_status=OrderStatus.VALID)


def test_store_and_complete_order_moves_the_order_and_stores_the_certificate(conn) -> None:
    owner = account(conn)
    order_id = order(conn, owner)
    cert = new_cert(owner)
    stored, moved = complete(conn, cert, order_id)
    assert (moved.id, moved.status, moved.certificate_id) == (order_id, OrderStatus.VALID, cert.id)
    assert (stored.id, stored.order_id, stored.serial, stored.names) == (
        cert.id, order_id, cert.serial, ["a.example"])
    assert stored.revoked_at is None
    assert certs.get_certificate(conn, cert.id) == stored
    assert certs.find_certificate_by_serial(conn, cert.serial) == stored


def test_storing_settles_the_orders_intent_whatever_serial_was_planned(conn) -> None:
    """An upstream CA assigns its own serial: the intent planned under another one goes too."""
    owner = account(conn)
    order_id = order(conn, owner, "ready")
    intents.begin(conn, order_id, from_status=OrderStatus.READY, to_status=OrderStatus.PROCESSING,
                  serial="0abc", names=["a.example"], not_before=NOW,
                  not_after=NOW + timedelta(days=90), spki_sha256="s" * 64)
    assert complete(conn, new_cert(owner, "7f02"), order_id) is not None
    assert intents.lock_for_order(conn, order_id) is None


@pytest.mark.parametrize("status", ["pending", "ready", "valid", "invalid"])
def test_store_and_complete_order_stores_nothing_unless_processing(conn, status: str) -> None:
    owner = account(conn)
    order_id = order(conn, owner, status)
    cert = new_cert(owner)
    assert complete(conn, cert, order_id) is None
    assert certs.get_certificate(conn, cert.id) is None
    row = conn.execute("SELECT status, certificate_id FROM orders WHERE id = %s", (order_id,)).fetchone()
    assert row == (status, None)


def test_set_revoked_records_once(conn) -> None:
    owner = account(conn)
    cert = new_cert(owner)
    complete(conn, cert, order(conn, owner))
    revoked = certs.set_revoked(conn, cert.id, reason=1, now=NOW)
    assert revoked is not None and (revoked.revoked_at, revoked.revocation_reason) == (NOW, 1)
    assert certs.set_revoked(conn, cert.id, reason=4, now=NOW + timedelta(hours=1)) is None
    assert certs.get_certificate(conn, cert.id) == revoked


def test_each_test_starts_from_an_empty_table(conn) -> None:
    """The rollback of the previous tests left nothing behind."""
    assert conn.execute("SELECT count(*) FROM certificates").fetchone() == (0,)


def _webhook(conn, events: list[str], *, enabled: bool = True) -> uuid.UUID:
    hook = webhooks.insert_webhook(conn, uuid.uuid4(), url="https://hooks.example/", events=events,
                                   secret="s", description="", created_by=None)
    webhooks.update_webhook(conn, hook.id, now=NOW, enabled=enabled)
    return hook.id


@pytest.mark.parametrize("subscribed", [False, True])
def test_storing_announcing_records_the_event_for_each_enabled_subscription(
        conn, subscribed: bool) -> None:
    owner = account(conn)
    order_id = order(conn, owner)
    hooks = [_webhook(conn, ["certificate.issued", "order.invalid"])] if subscribed else []
    _webhook(conn, ["certificate.issued"], enabled=False)
    _webhook(conn, ["certificate.revoked"])
    event = NewEvent(uuid.uuid4(), "certificate.issued", {"type": "certificate.issued"}, NOW)
    cert = new_cert(owner)
    stored = certs.store_and_complete_order(conn, cert, order_id=order_id,
                                            from_status=OrderStatus.PROCESSING,
                                            to_status=OrderStatus.VALID, announcing=event)
    assert stored is not None and stored[0].id == cert.id and stored[1].status is OrderStatus.VALID
    rows = conn.execute("SELECT webhook_id, event, payload, status, next_attempt_at"
                        " FROM webhook_deliveries WHERE event_id = %s", (event.id,)).fetchall()
    assert rows == [(h, "certificate.issued", event.payload, "pending", NOW) for h in hooks]


def test_storing_announcing_records_nothing_unless_processing(conn) -> None:
    owner = account(conn)
    order_id = order(conn, owner, "ready")
    _webhook(conn, ["certificate.issued"])
    event = NewEvent(uuid.uuid4(), "certificate.issued", {"type": "certificate.issued"}, NOW)
    assert certs.store_and_complete_order(conn, new_cert(owner), order_id=order_id,
                                          from_status=OrderStatus.PROCESSING,
                                          to_status=OrderStatus.VALID, announcing=event) is None
    assert conn.execute("SELECT count(*) FROM webhook_deliveries WHERE event_id = %s",
                        (event.id,)).fetchone() == (0,)
