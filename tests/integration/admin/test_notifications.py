"""The notification outbox through the admin API: list with filters, retry one, retry all."""
from __future__ import annotations

import json
import uuid

import pytest
from admin_support import AdminClient, db, problem


@pytest.fixture
def outbox_rows(admin_server) -> dict[str, str]:
    """One notification per status, of a kind unique to the test: {status: id}."""
    kind = f"test-{uuid.uuid4().hex[:8]}"
    ids = {}
    with db(admin_server) as conn:
        for status in ("failed", "abandoned", "sent", "pending"):
            ids[status] = str(uuid.uuid4())
            conn.execute(
                "INSERT INTO notifications (id, kind, recipient, context, status, attempts,"
                " next_attempt_at, last_error) VALUES (%s, %s, %s, %s, %s, %s, now(), %s)",
                (ids[status], kind, "ops@example.com", json.dumps({}), status,
                 3 if status in ("failed", "abandoned") else 0,
                 "smtp down" if status in ("failed", "abandoned") else None))
    ids["kind"] = kind
    return ids


def listed(admin: AdminClient, **params: str) -> dict[str, dict]:
    return {n["id"]: n for p in admin.pages("/notifications", params) for n in p["items"]}


def test_list_and_filters(admin: AdminClient, outbox_rows: dict) -> None:
    everything = listed(admin, kind=outbox_rows["kind"])
    assert len(everything) == 4
    failed = everything[outbox_rows["failed"]]
    assert failed["last_error"] == "smtp down" and failed["attempts"] == 3
    assert "context" not in failed  # template variables stay in the database
    assert list(listed(admin, kind=outbox_rows["kind"], status="sent")) == [outbox_rows["sent"]]
    problem(admin.get("/notifications", params={"status": "lost"}), 400)


def test_retry_one(admin: AdminClient, outbox_rows: dict) -> None:
    resp = admin.post(f"/notifications/{outbox_rows['failed']}/retry")
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "pending" and resp.json()["attempts"] == 0
    problem(admin.post(f"/notifications/{outbox_rows['sent']}/retry"), 409, "conflict")
    problem(admin.post(f"/notifications/{outbox_rows['pending']}/retry"), 409)
    problem(admin.post(f"/notifications/{uuid.uuid4()}/retry"), 404, "notFound")


def test_retry_failed(admin: AdminClient, auditor: AdminClient, outbox_rows: dict) -> None:
    problem(auditor.post("/notifications/retry-failed"), 403)
    resp = admin.post("/notifications/retry-failed", {})
    assert resp.status_code == 200 and resp.json()["queued"] >= 2
    rows = listed(admin, kind=outbox_rows["kind"])
    assert rows[outbox_rows["failed"]]["status"] == "pending"
    assert rows[outbox_rows["abandoned"]]["status"] == "pending"
    assert rows[outbox_rows["sent"]]["status"] == "sent"
