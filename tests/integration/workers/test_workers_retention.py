"""Retention tasks of the cleanup worker (retention.*): sent and skipped notifications,
delivered webhook deliveries, expired or revoked admin tokens, and audit rows older than
retention.audit_days (kept for ever when it is null); everything else stays."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import pytest

from acmeeh.workers.cleanup import TASKS, CleanupWorker

DAY = timedelta(days=1)


def task(name: str):  # noqa: ANN201
    return next(t for t in TASKS if t.name == name)


def notification(seed, status: str, changed: datetime) -> uuid.UUID:
    nid = uuid.uuid4()
    seed.conn.execute(
        "INSERT INTO notifications (id, kind, recipient, status, next_attempt_at, created_at,"
        " updated_at) VALUES (%s, 'certificate_issued', 'a@example.test', %s, %s, %s, %s)",
        (nid, status, changed, changed, changed))
    return nid


def delivery(seed, hook: uuid.UUID, status: str, changed: datetime) -> uuid.UUID:
    did = uuid.uuid4()
    seed.conn.execute(
        "INSERT INTO webhook_deliveries (id, webhook_id, event_id, event, payload, status,"
        " next_attempt_at, created_at, updated_at) VALUES"
        " (%s, %s, %s, 'account.created', %s, %s, %s, %s, %s)",
        (did, hook, uuid.uuid4(), json.dumps({}), status, changed, changed, changed))
    return did


def exists(seed, table: str, row_id: uuid.UUID) -> bool:
    return seed.one(f"SELECT count(*) FROM {table} WHERE id = %s", row_id) == 1


def test_notifications_go_when_finished_and_old(make_env, seed) -> None:
    h = make_env({"retention": {"notifications_days": 30, "batch_size": 2}})
    old, recent = h.clock() - 31 * DAY, h.clock() - 29 * DAY
    gone = [notification(seed, s, old) for s in ("sent", "sent", "skipped", "sent", "skipped")]
    kept = [notification(seed, "sent", recent), notification(seed, "skipped", recent)]
    kept += [notification(seed, s, old) for s in ("pending", "failed", "abandoned")]
    # Five to delete in batches of two: the task goes on while batches come back full.
    assert CleanupWorker(h.env).run_task(task("notification_retention")) == 5
    assert not any(exists(seed, "notifications", n) for n in gone)
    assert all(exists(seed, "notifications", n) for n in kept)


def test_only_delivered_webhook_deliveries_go(make_env, seed) -> None:
    h = make_env({"retention": {"webhook_deliveries_days": 7}})
    hook = uuid.uuid4()
    seed.conn.execute("INSERT INTO webhooks (id, url, events, secret) VALUES"
                      " (%s, 'http://127.0.0.1/x', '{account.created}', 's')", (hook,))
    old, recent = h.clock() - 8 * DAY, h.clock() - 6 * DAY
    gone = delivery(seed, hook, "delivered", old)
    kept = [delivery(seed, hook, "delivered", recent), delivery(seed, hook, "dead", old),
            delivery(seed, hook, "failed", old), delivery(seed, hook, "pending", old)]
    assert CleanupWorker(h.env).run_task(task("webhook_retention")) == 1
    assert not exists(seed, "webhook_deliveries", gone)
    assert all(exists(seed, "webhook_deliveries", d) for d in kept)


def test_stale_admin_tokens_go(make_env, seed) -> None:
    h = make_env({"retention": {"admin_tokens_days": 7}})
    user = uuid.uuid4()
    seed.conn.execute("INSERT INTO admin_users (id, username, email, role, password_hash)"
                      " VALUES (%s, %s, 'r@example.test', 'admin', 'x')", (user, user.hex[:12]))

    def token(expires: datetime, revoked: datetime | None = None) -> uuid.UUID:
        tid = uuid.uuid4()
        seed.conn.execute("INSERT INTO admin_tokens (id, user_id, token_hash, expires_at,"
                          " revoked_at) VALUES (%s, %s, %s, %s, %s)",
                          (tid, user, tid.hex, expires, revoked))
        return tid

    now = h.clock()
    gone = [token(now - 8 * DAY), token(now + DAY, revoked=now - 8 * DAY)]
    kept = [token(now - 6 * DAY), token(now + DAY), token(now + DAY, revoked=now - DAY)]
    assert CleanupWorker(h.env).run_task(task("admin_token_retention")) == 2
    assert not any(exists(seed, "admin_tokens", t) for t in gone)
    assert all(exists(seed, "admin_tokens", t) for t in kept)


def audit_row(seed, when: datetime) -> uuid.UUID:
    aid = uuid.uuid4()
    seed.conn.execute("INSERT INTO audit_log (id, action, outcome, created_at)"
                      " VALUES (%s, 'test.retention', 'success', %s)", (aid, when))
    return aid


@pytest.mark.parametrize(("days", "deleted"), [(None, False), (365, True)])
def test_audit_rows_are_kept_unless_a_retention_is_set(make_env, seed, days: int | None,
                                                       deleted: bool) -> None:
    h = make_env({"retention": {"audit_days": days}})
    ancient, recent = audit_row(seed, h.clock() - 400 * DAY), audit_row(seed, h.clock() - DAY)
    worker = CleanupWorker(h.env)
    ran = worker.tick()
    assert ("audit_retention" in ran) is deleted
    assert exists(seed, "audit_log", ancient) is not deleted
    assert exists(seed, "audit_log", recent)


def test_retention_disabled_keeps_everything(make_env, seed) -> None:
    h = make_env({"retention": {"enabled": False, "audit_days": 1}})
    old = notification(seed, "sent", h.clock() - 1000 * DAY)
    names = {t.name for t in CleanupWorker(h.env).tasks}
    assert not names & {"notification_retention", "webhook_retention", "admin_token_retention",
                        "audit_retention"}
    assert exists(seed, "notifications", old)
