"""store/outbox.py and store/webhooks.py: the delivery outboxes' statements, their statuses as
StrEnums, and the fused claim-and-lease of webhook deliveries."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from support.rows import NOW, account

from acmeeh.store import outbox, webhooks
from acmeeh.store.outbox import NotificationStatus
from acmeeh.store.paging import Page
from acmeeh.store.webhooks import DeliveryStatus

LATER = NOW + timedelta(minutes=5)


def notify(conn, *recipients: str, status=NotificationStatus.PENDING):
    return outbox.insert_notifications(conn, kind="certificate_issued", recipients=recipients,
                                       account_id=account(conn), context={"serial": "0a"},
                                       status=status, now=NOW)


def test_insert_notifications_writes_one_row_per_recipient(conn) -> None:
    rows = notify(conn, "mailto:a@example.test", "mailto:b@example.test")
    assert [(r.recipient, r.status, r.next_attempt_at, r.context) for r in rows] == [
        ("mailto:a@example.test", NotificationStatus.PENDING, NOW, {"serial": "0a"}),
        ("mailto:b@example.test", NotificationStatus.PENDING, NOW, {"serial": "0a"})]
    assert type(rows[0].status) is NotificationStatus
    assert notify(conn) == []


@pytest.mark.parametrize(("next_attempt_at", "status"), [
    (LATER, NotificationStatus.FAILED), (None, NotificationStatus.ABANDONED)])
def test_a_failed_notification_is_retried_or_abandoned(conn, next_attempt_at, status) -> None:
    (row,) = notify(conn, "mailto:a@example.test")
    assert outbox.claim_due(conn, NOW, 10) == [row]
    failed = outbox.mark_failed(conn, row.id, error="refused", now=NOW, next_attempt_at=next_attempt_at)
    assert failed is not None and (failed.status, failed.attempts, failed.last_error) == (
        status, 1, "refused")
    assert outbox.claim_due(conn, NOW, 10) == []
    requeued = outbox.requeue(conn, row.id, LATER)
    assert requeued is not None and (requeued.status, requeued.attempts) == (NotificationStatus.PENDING, 0)
    sent = outbox.mark_sent(conn, row.id, LATER)
    assert sent is not None and (sent.status, sent.sent_at) == (NotificationStatus.SENT, LATER)
    assert outbox.mark_sent(conn, row.id, LATER) is None  # sent is final
    assert outbox.list_page(conn, Page(limit=5), status=NotificationStatus.SENT) == [sent]
    assert outbox.delete_finished(conn, outbox.FINISHED, LATER + timedelta(seconds=1), 10) == 1


def test_skipped_notifications_are_never_claimed(conn) -> None:
    notify(conn, "mailto:a@example.test", status=NotificationStatus.SKIPPED)
    assert outbox.claim_due(conn, LATER, 10) == []
    assert [r.status for r in outbox.list_notifications(conn)] == [NotificationStatus.SKIPPED]


def hook(conn, *events: str) -> webhooks.WebhookRow:
    return webhooks.insert_webhook(conn, uuid.uuid4(), url="https://hooks.example.test/",
                                   events=list(events), secret="s" * 32, description="",
                                   created_by=None)


def test_claim_due_leases_the_deliveries_of_subscribed_webhooks(conn) -> None:
    subscribed, other = hook(conn, "certificate.issued"), hook(conn, "account.created")
    assert webhooks.insert_deliveries(conn, event_id=uuid.uuid4(), event="certificate.issued",
                                      payload={"serial": "0a"}, now=NOW) == 1
    (due,) = webhooks.claim_due(conn, NOW, 10, lease_until=LATER)
    assert (due.url, due.secret, due.delivery.webhook_id) == (subscribed.url, "s" * 32, subscribed.id)
    assert (due.delivery.status, due.delivery.next_attempt_at) == (DeliveryStatus.PENDING, LATER)
    assert webhooks.claim_due(conn, NOW, 10, lease_until=LATER) == []  # leased
    assert webhooks.list_deliveries(conn, Page(limit=5), webhook_id=other.id) == []


@pytest.mark.parametrize(("next_attempt_at", "status"), [
    (LATER, DeliveryStatus.FAILED), (None, DeliveryStatus.DEAD)])
def test_a_failed_delivery_is_retried_or_dead(conn, next_attempt_at, status) -> None:
    hook(conn, "certificate.issued")
    webhooks.insert_deliveries(conn, event_id=uuid.uuid4(), event="certificate.issued",
                               payload={}, now=NOW)
    (due,) = webhooks.claim_due(conn, NOW, 10, lease_until=NOW)
    failed = webhooks.mark_failed(conn, due.delivery.id, error="503", status_code=503, now=NOW,
                                  next_attempt_at=next_attempt_at)
    assert failed is not None and (failed.status, failed.attempts, failed.last_status) == (status, 1, 503)
    assert type(failed.status) is DeliveryStatus
    assert webhooks.requeue(conn, due.delivery.id, LATER) is not None
    done = webhooks.mark_delivered(conn, due.delivery.id, status_code=200, now=LATER)
    assert done is not None and done.status == DeliveryStatus.DELIVERED
    assert webhooks.get_delivery(conn, done.id) == done
    assert webhooks.delete_delivered(conn, LATER + timedelta(seconds=1), 10) == 1
