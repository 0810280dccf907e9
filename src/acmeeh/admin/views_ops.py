"""Operations: maintenance mode, the notification outbox and the OpenAPI document."""
from __future__ import annotations

import uuid

from flask import Response

from ..authority import maintenance, redelivery
from ..store import outbox
from . import render
from .blueprint import actor, audited, body, ctx, json_response, note, paged
from .inputs import Query

def openapi() -> Response:
    """The OpenAPI 3.1 description of this API (public: it holds no data)."""
    resp = json_response(ctx().spec.served(ctx().base_url, ctx().cfg.max_page_size))
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp


def get_maintenance() -> Response:
    Query(())
    return json_response(render.maintenance(maintenance.status(ctx().env)))


@audited("maintenance.set")
def set_maintenance() -> Response:
    """{"enabled": true} pauses newOrder (503, Retry-After: 300) on every instance."""
    data = body("MaintenanceUpdate")
    note(target="maintenance", enabled=data["enabled"])
    row = maintenance.set_enabled(ctx().env, data["enabled"], actor=actor().username)
    return json_response(render.maintenance(row))


def list_notifications() -> Response:
    q = Query(("limit", "cursor", "status", "kind", "account_id"))
    status, kind = q.choice("status", outbox.NotificationStatus), q.text("kind")
    account_id = q.uuid("account_id")
    return paged(q, lambda conn, page: outbox.list_page(
        conn, page, status=status, kind=kind, account_id=account_id), render.notification)


@audited("notification.retry", target="notification:{notification_id}")
def retry_notification(notification_id: uuid.UUID) -> Response:
    body("Empty", optional=True)
    return json_response(render.notification(redelivery.retry(ctx().env, notification_id)))


@audited("notification.retry_failed")
def retry_failed_notifications() -> Response:
    body("Empty", optional=True)
    queued = redelivery.retry_failed(ctx().env)
    note(target="notifications", queued=queued)
    return json_response({"queued": queued})


@audited("notification.purge")
def purge_notifications() -> Response:
    """Delete finished notifications (sent and skipped by default) older than N days."""
    data = body("NotificationPurge", optional=True)
    statuses = data.get("statuses", ["sent", "skipped"])
    days = data.get("older_than_days", 0)
    deleted = redelivery.purge(ctx().env, statuses, days)
    note(target="notifications", statuses=statuses, older_than_days=days, deleted=deleted)
    return json_response({"deleted": deleted})
