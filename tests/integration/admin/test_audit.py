"""The audit log: rows for every admin action, filters, streamed JSON-lines and CSV export,
no secrets."""
from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from admin_support import AdminClient, problem


def events(admin: AdminClient, **params: str) -> list[dict]:
    return [e for page in admin.pages("/audit", params) for e in page["items"]]


def test_actions_are_recorded_with_actor_target_outcome(admin: AdminClient) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    name = f"aud-{uuid.uuid4().hex[:8]}"
    user = admin.post("/users", {"username": name, "email": "a@example.com"}).json()["user"]
    admin.post("/users", {"username": name, "email": "a@example.com"})  # 409
    kid = admin.post("/eab", {"label": "audit"}).json()["kid"]
    admin.post(f"/eab/{kid}/revoke")
    recent = events(admin, since=start.isoformat(), actor="root")
    by_action = {(e["action"], e["outcome"]): e for e in recent}
    created = by_action[("user.create", "success")]
    assert created["target"] == f"user:{user['id']}" and created["details"]["username"] == name
    assert created["actor_id"] and created["remote_addr"] == "127.0.0.1"
    failed = by_action[("user.create", "failure")]
    assert failed["details"]["status"] == 409
    assert by_action[("eab.revoke", "success")]["target"] == f"eab:{kid}"
    assert by_action[("auth.login", "success")]["target"] == "user:root"
    times = [e["created_at"] for e in recent]
    assert times == sorted(times, reverse=True)  # newest first


def test_filters(admin: AdminClient, auditor: AdminClient) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    auditor.post("/maintenance", {"enabled": True})  # denied
    denied = events(admin, outcome="denied", since=start.isoformat())
    assert denied and all(e["outcome"] == "denied" for e in denied)
    assert {e["actor"] for e in denied} == {"watcher"}
    prefixed = events(admin, action="auth.*", since=start.isoformat())
    assert prefixed and all(e["action"].startswith("auth.") for e in prefixed)
    assert events(admin, action="auth.", since=start.isoformat()) == []
    assert events(admin, until=(start - timedelta(days=3650)).isoformat()) == []
    for bad in ({"since": "yesterday"}, {"since": "2026-01-01T00:00:00"}, {"outcome": "maybe"},
                {"actor": ""}, {"until": "2026-13-01T00:00:00Z"}):
        problem(admin.get("/audit", params=bad), 400)


def test_export_jsonl_streams_every_matching_event(admin: AdminClient) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    for i in range(3):
        admin.post("/eab", {"label": f"export {i}"})
    resp = admin.get("/audit/export", params={"since": start.isoformat(), "action": "eab.create"},
                     stream=True)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/x-ndjson"
    assert resp.headers.get("Transfer-Encoding") == "chunked"  # streamed, no Content-Length
    lines = [json.loads(line) for line in resp.iter_lines() if line]
    labels = [e["details"]["label"] for e in lines]
    assert [x for x in labels if x.startswith("export ")] == ["export 2", "export 1", "export 0"]
    assert all(e["action"] == "eab.create" for e in lines)
    assert set(lines[0]) == {"id", "actor", "actor_id", "action", "target", "outcome", "details",
                             "remote_addr", "created_at"}


def test_export_csv_and_injection_is_defused(admin: AdminClient) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    admin.post("/eab", {"label": "=HYPERLINK(\"http://evil\")"})
    resp = admin.get("/audit/export", params={"format": "csv", "since": start.isoformat()})
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/csv")
    assert 'filename="acmeeh-audit.csv"' in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert rows[0].keys() == {"id", "created_at", "actor", "actor_id", "action", "target",
                              "outcome", "remote_addr", "details"}
    created = [r for r in rows if r["action"] == "eab.create"]
    assert json.loads(created[0]["details"])["label"].startswith("=HYPERLINK")
    assert all(not cell.startswith("=") for row in rows for cell in row.values())
    problem(admin.get("/audit/export", params={"format": "xml"}), 400)


def test_audit_holds_no_secrets(admin_server, admin: AdminClient) -> None:
    secrets_seen = []
    name = f"sec-{uuid.uuid4().hex[:8]}"
    created = admin.post("/users", {"username": name, "email": "s@example.com",
                                    "password": "a very secret password"}).json()
    secrets_seen.append("a very secret password")
    reset = admin.post(f"/users/{created['user']['id']}/reset-password").json()
    secrets_seen.append(reset["password"])
    secrets_seen.append(admin.post("/eab", {"label": "secret"}).json()["hmac_key"])
    AdminClient(admin_server).post("/auth/login", {"username": name, "password": "wrong-guess-1"})
    secrets_seen += ["wrong-guess-1", admin.token]
    dump = admin.get("/audit/export").text
    for secret in secrets_seen:
        assert secret not in dump
    assert admin_server.log_tail(200000).count("a very secret password") == 0


@pytest.mark.parametrize("params", [{"format": "csv"}, {}])
def test_auditor_may_export(auditor: AdminClient, params: dict) -> None:
    assert auditor.get("/audit/export", params=params).status_code == 200
