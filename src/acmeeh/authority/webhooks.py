"""Webhooks: subscriptions (admin API), events recorded in the outbox inside the transaction
of the event that causes them, and their delivery (driven by acmeeh.workers.webhooks).

Delivery is at least once: a receiver may see an event twice (a retry after a lost answer)
and out of order; each body carries the event id to deduplicate on. Targets are checked
against the network policy when subscribed (IP literals) and again at every delivery (names
are resolved then), so a webhook cannot reach loopback, link-local (cloud metadata),
multicast or this server's own addresses unless `webhooks.allowed_networks` lets it.
"""
from __future__ import annotations

import ipaddress
import json
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .. import __version__, metrics
from ..config.settings import WebhooksSettings
from ..notify.webhook import IPAddress, Sender, WebhookError, literal, parse_target
from ..protocol import problems
from ..store import webhooks as store
from ..store.db import Connection
from ..store.webhooks import DeliveryRow, DeliveryStatus, DueDelivery, NewEvent, WebhookRow
from ..validation.network import AddressPolicy
from .env import Env
from .notifications import jsonable
from .outboxes import Batch, backoff, requeued

EVENTS = ("certificate.issued", "certificate.revoked", "certificate.expiring", "order.invalid",
          "account.created", "account.deactivated", "maintenance.changed")
SECRET_BYTES = 32
MAX_URL = 2048


# --- the network policy ---------------------------------------------------------------------
class TargetPolicy:
    """Which addresses a webhook may reach: inside `allowed_networks` when that list is set,
    else anything but loopback, link-local, unspecified, multicast and this server's own."""

    def __init__(self, allowed_networks: Sequence[str]) -> None:
        self.networks = [ipaddress.ip_network(n, strict=False) for n in allowed_networks]
        self.default = AddressPolicy(())

    def refusal(self, address: IPAddress) -> str | None:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if self.networks:
            inside = any(address.version == n.version and address in n for n in self.networks)
            return None if inside else "outside webhooks.allowed_networks"
        return self.default.refusal(address)


def check_url(env: Env, url: str) -> str:
    """A subscribable URL, or malformed (400) saying why."""
    if len(url) > MAX_URL:
        raise problems.malformed(f"url: at most {MAX_URL} characters")
    try:
        target = parse_target(url)
    except ValueError as exc:
        raise problems.malformed(f"url: {exc}") from None
    address = literal(target.host)
    if address is not None:
        why = TargetPolicy(env.settings.webhooks.allowed_networks).refusal(address)
        if why is not None:
            raise problems.malformed(f"url: address {address} is not allowed ({why})")
    return url


def check_events(events: Sequence[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENTS))
    if unknown or not events:
        raise problems.malformed(f"events: one or more of {', '.join(EVENTS)}")
    return sorted(set(events))


# --- subscriptions --------------------------------------------------------------------------
def create(env: Env, *, url: str, events: Sequence[str], description: str,
           created_by: str | None) -> WebhookRow:
    """A new subscription with a fresh secret (the caller shows it once)."""
    url, wanted = check_url(env, url), check_events(events)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    with env.pool.connection() as conn:
        row = store.insert_webhook(conn, uuid.uuid4(), url=url, events=wanted, secret=secret,
                                   description=description, created_by=created_by)
    env.log.info("webhook created", extra={"webhook_id": str(row.id), "actor": created_by})
    return row


def update(env: Env, webhook_id: uuid.UUID, *, url: str | None = None,
           events: Sequence[str] | None = None, description: str | None = None,
           enabled: bool | None = None) -> WebhookRow:
    with env.pool.connection() as conn:
        row = store.update_webhook(
            conn, webhook_id, now=env.clock(), url=check_url(env, url) if url else None,
            events=check_events(events) if events is not None else None,
            description=description, enabled=enabled)
    if row is None:
        raise problems.not_found("no such webhook")
    return row


def delete(env: Env, webhook_id: uuid.UUID) -> None:
    with env.pool.connection() as conn:
        if not store.delete_webhook(conn, webhook_id):
            raise problems.not_found("no such webhook")


def retry(env: Env, delivery_id: uuid.UUID) -> DeliveryRow:
    """dead|failed → pending, due now. 404 unknown, 409 delivered or already pending."""
    with env.pool.connection() as conn, conn.transaction():
        return requeued(store.requeue(conn, delivery_id, env.clock()),
                        lambda: store.get_delivery(conn, delivery_id),
                        missing="no such webhook delivery", what="the delivery",
                        wanted="dead or failed")


# --- events (called inside the transaction of the event) -----------------------------------
def emit(conn: Connection, env: Env, event: str, data: Mapping[str, Any]) -> int:
    """Record `event` for every enabled subscription to it (one statement); how many."""
    new = new_event(env, event, data)
    if new is None:
        return 0
    return store.insert_deliveries(conn, event_id=new.id, event=new.event, payload=new.payload,
                                   now=new.now)


def new_event(env: Env, event: str, data: Mapping[str, object]) -> NewEvent | None:
    """`event` as every subscription to it receives it (its id, type, time and `data`), for a
    statement to record; None when webhooks are disabled."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    if not env.settings.webhooks.enabled:
        return None
    now, event_id = env.clock(), uuid.uuid4()
    payload = {"id": str(event_id), "type": event, "created_at": now.isoformat(),
               "data": jsonable(dict(data))}
    return NewEvent(event_id, event, payload, now)


def has_subscribers(env: Env, conn: Connection, event: str) -> bool:
    return env.settings.webhooks.enabled and store.has_subscribers(conn, event)


# --- delivery --------------------------------------------------------------------------------
def sender(env: Env) -> Sender:
    cfg = env.settings.webhooks
    policy = TargetPolicy(cfg.allowed_networks)
    return Sender(timeout=cfg.timeout_seconds, user_agent=f"acmeeh/{__version__} webhooks",
                  check=policy.refusal)


def retry_at(cfg: WebhooksSettings, attempts: int, now: datetime) -> datetime | None:
    """When to try again after failed attempt number `attempts`; None = dead letter."""
    if attempts >= cfg.max_attempts:
        return None
    return backoff(now, attempts, first=cfg.retry_delay_seconds,
                   multiplier=cfg.retry_backoff_multiplier, most=cfg.retry_max_delay_seconds)


@dataclass
class DeliveryReport(Batch[DeliveryRow]):
    postponed: int = 0  # claimed, but their receiver was down: moved to its next attempt


def body_of(delivery: DeliveryRow) -> bytes:
    return json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode("utf-8")


def deliver_due(env: Env, post: Callable[[DueDelivery], int], *,
                limit: int | None = None) -> DeliveryReport:
    """Claim due deliveries (a lease, FOR UPDATE SKIP LOCKED) and `post` each, outside any
    transaction; record each outcome. When a receiver cannot be reached, its other claimed
    deliveries wait for its next attempt instead of each failing in turn."""
    cfg = env.settings.webhooks
    report = DeliveryReport()
    now = env.clock()
    lease = now + timedelta(seconds=2 * cfg.timeout_seconds * (limit or cfg.batch_size) + 60)
    with env.pool.connection() as conn:
        claimed = store.claim_due(conn, now, limit or cfg.batch_size, lease)
    report.claimed = len(claimed)
    down: dict[uuid.UUID, datetime] = {}
    for due in claimed:
        hook = due.delivery.webhook_id
        if hook in down:
            with env.pool.connection() as conn:
                report.postponed += store.postpone(conn, [due.delivery.id], down[hook])
            continue
        try:
            status = post(due)
        except WebhookError as exc:
            row = _failed(env, due.delivery, exc, report)
            if exc.connection and row is not None and row.status == DeliveryStatus.FAILED:
                down[hook] = row.next_attempt_at
            continue
        with env.pool.connection() as conn:
            row = store.mark_delivered(conn, due.delivery.id, status_code=status, now=env.clock())
        if row is not None:
            report.done.append(row)
    _count(report)
    return report


def _failed(env: Env, delivery: DeliveryRow, exc: WebhookError,
            report: DeliveryReport) -> DeliveryRow | None:
    now = env.clock()
    with env.pool.connection() as conn:
        row = store.mark_failed(conn, delivery.id, error=str(exc)[:1000], status_code=exc.status,
                                now=now, next_attempt_at=retry_at(env.settings.webhooks,
                                                                  delivery.attempts + 1, now))
    if row is None:
        return None
    report.failure(row, retried=row.status == DeliveryStatus.FAILED, log=env.log,
                   message="webhook delivery failed", delivery_id=str(row.id), event=row.event,
                   attempts=row.attempts, status=row.status, error=str(exc)[:300])
    return row


def _count(report: DeliveryReport) -> None:
    for row in report.done:
        metrics.WEBHOOK_DELIVERIES.labels(event=row.event, result="delivered").inc()
    for row in report.failed:
        metrics.WEBHOOK_DELIVERIES.labels(event=row.event, result="failed").inc()
    for row in report.given_up:
        metrics.WEBHOOK_DELIVERIES.labels(event=row.event, result="dead").inc()


def purge_delivered(env: Env, *, days: int, limit: int) -> int:
    """Retention: delete up to `limit` delivered deliveries older than `days`."""
    with env.pool.connection() as conn:
        return store.delete_delivered(conn, env.clock() - timedelta(days=days), limit)
