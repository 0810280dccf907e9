"""Webhooks: subscriptions (create shows the signing secret once) and their deliveries,
dead letters included, which an admin can send again."""
from __future__ import annotations

import uuid

from flask import Response

from ..authority import webhooks
from ..store import webhooks as webhook_store
from . import render
from .blueprint import actor, audited, body, created, ctx, json_response, note, paged, shown
from .inputs import Query

def list_webhooks() -> Response:
    return paged(Query(("limit", "cursor")), webhook_store.list_webhooks, render.webhook)


@audited("webhook.create")
def create_webhook() -> Response:
    """A subscription; its secret (the HMAC key of the signatures) is in this answer only."""
    data = body("NewWebhook")
    row = webhooks.create(ctx().env, url=data["url"], events=data["events"],
                          description=data.get("description", ""), created_by=actor().username)
    note(target=f"webhook:{row.id}", url=row.url, events=row.events)
    return created({**render.webhook(row), "secret": row.secret}, f"/webhooks/{row.id}")


def get_webhook(webhook_id: uuid.UUID) -> Response:
    return shown(lambda conn: webhook_store.get_webhook(conn, webhook_id), render.webhook,
                 "no such webhook")


@audited("webhook.update", target="webhook:{webhook_id}")
def update_webhook(webhook_id: uuid.UUID) -> Response:
    data = body("WebhookUpdate")
    note(changes=sorted(data))
    row = webhooks.update(ctx().env, webhook_id, url=data.get("url"), events=data.get("events"),
                          description=data.get("description"), enabled=data.get("enabled"))
    return json_response(render.webhook(row))


@audited("webhook.delete", target="webhook:{webhook_id}")
def delete_webhook(webhook_id: uuid.UUID) -> Response:
    webhooks.delete(ctx().env, webhook_id)
    return Response(status=204)


def list_webhook_deliveries() -> Response:
    q = Query(("limit", "cursor", "webhook_id", "status", "event"))
    webhook_id, event = q.uuid("webhook_id"), q.choice("event", webhooks.EVENTS)
    status = q.choice("status", webhook_store.DeliveryStatus)
    return paged(q, lambda conn, page: webhook_store.list_deliveries(
        conn, page, webhook_id=webhook_id, status=status, event=event), render.webhook_delivery)


def get_webhook_delivery(delivery_id: uuid.UUID) -> Response:
    return shown(lambda conn: webhook_store.get_delivery(conn, delivery_id),
                 render.webhook_delivery, "no such webhook delivery")


@audited("webhook.retry", target="webhook-delivery:{delivery_id}")
def retry_webhook_delivery(delivery_id: uuid.UUID) -> Response:
    """A dead (or failed) delivery goes out again now, with a fresh attempt budget."""
    body("Empty", optional=True)
    return json_response(render.webhook_delivery(webhooks.retry(ctx().env, delivery_id)))
