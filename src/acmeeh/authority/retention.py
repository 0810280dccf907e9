"""Retention (retention.*): bounded deletes of records nobody needs any more, one batch per
call (the cleanup worker repeats a batch while it comes back full).

Kept for ever: certificates, orders with a certificate, failed and abandoned notifications,
dead webhook deliveries (an admin decides), and audit rows unless retention.audit_days is set.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from ..store import admin as admin_store
from ..store import audit as audit_store
from ..store import outbox
from ..store.outbox import NotificationStatus
from . import webhooks
from .env import Env


def _before(env: Env, days: int) -> datetime:
    return env.clock() - timedelta(days=days)


def purge_notifications(env: Env, *, limit: int) -> int:
    """Sent and skipped notifications older than retention.notifications_days."""
    with env.pool.connection() as conn:
        return outbox.delete_finished(conn, (NotificationStatus.SENT, NotificationStatus.SKIPPED),
                                      _before(env, env.settings.retention.notifications_days),
                                      limit)


def purge_webhook_deliveries(env: Env, *, limit: int) -> int:
    """Delivered webhook deliveries older than retention.webhook_deliveries_days."""
    return webhooks.purge_delivered(env, days=env.settings.retention.webhook_deliveries_days,
                                    limit=limit)


def purge_admin_tokens(env: Env, *, limit: int) -> int:
    """Admin tokens expired or revoked more than retention.admin_tokens_days ago."""
    with env.pool.connection() as conn:
        return admin_store.delete_stale_tokens(
            conn, _before(env, env.settings.retention.admin_tokens_days), limit)


def purge_audit(env: Env, *, limit: int) -> int:
    """Audit rows older than retention.audit_days (nothing when it is null)."""
    days = env.settings.retention.audit_days
    if days is None:
        return 0
    with env.pool.connection() as conn:
        return audit_store.delete_older(conn, _before(env, days), limit)
