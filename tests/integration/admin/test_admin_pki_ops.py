"""Admin API: CRL status and rebuild, the ARI renewal window per certificate, and the purge of
finished notifications; refusals as problem documents."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from admin_support import AdminClient, audit_rows, problem
from cryptography import x509
from support.acme_client import AcmeClient, Http01Responder, expect


@pytest.fixture(scope="module")
def cert_id(admin_server, root_password: str) -> str:
    client = AcmeClient(admin_server.directory_url)
    expect(client.new_account(contact=["mailto:window@example.com"]), 201)
    name = f"window-{uuid.uuid4().hex[:8]}.localhost"
    with Http01Responder(admin_server.http01_port) as http01:
        pem = client.obtain_certificate([name], http01=http01)["pem"]
    serial = format(x509.load_pem_x509_certificate(pem.encode()).serial_number, "x")
    admin = AdminClient(admin_server).as_user("root", root_password)
    return admin.get("/certificates", params={"serial": serial}).json()["items"][0]["id"]


def test_renewal_window_set_show_clear(admin: AdminClient, admin_server, cert_id: str) -> None:
    computed = admin.get(f"/certificates/{cert_id}/renewal-window").json()
    assert computed["source"] == "computed" and computed["explanation_url"] is None
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    body = {"start": start.isoformat(), "end": (start + timedelta(hours=6)).isoformat(),
            "explanation_url": "https://ca.example.com/why"}
    resp = admin.request("PUT", f"/certificates/{cert_id}/renewal-window", json_body=body)
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert got["source"] == "operator" and got["start"] == start.isoformat().replace(
        "+00:00", "Z") and got["explanation_url"] == "https://ca.example.com/why"
    rows = [r for r in audit_rows(admin_server, "certificate.renewal_window.set")
            if r["target"] == f"certificate:{cert_id}"]
    assert rows and rows[-1]["outcome"] == "success"
    cleared = admin.delete(f"/certificates/{cert_id}/renewal-window")
    assert cleared.status_code == 200 and cleared.json()["start"] == computed["start"]


@pytest.mark.parametrize(("body", "fragment"), [
    ({"start": "2026-01-02T00:00:00Z"}, "required"),
    ({"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "after"),
    ({"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "after"),
    ({"start": "tomorrow", "end": "2026-01-01T00:00:00Z"}, "start"),
    ({"start": "2026-01-01T00:00:00", "end": "2026-01-02T00:00:00Z"}, "start"),
    ({"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z",
      "explanation_url": "ftp://x.example/"}, "explanation_url"),
    ({"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z",
      "explanation_url": "/relative"}, "explanation_url"),
    ({"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z", "why": 1}, "unknown"),
], ids=["no-end", "reversed", "empty", "not-a-time", "no-offset", "ftp-url", "relative-url",
        "unknown-field"])
def test_renewal_window_refusals(admin: AdminClient, cert_id: str, body: dict,
                                 fragment: str) -> None:
    resp = admin.request("PUT", f"/certificates/{cert_id}/renewal-window", json_body=body)
    found = problem(resp, 400)
    assert fragment in str(found), found


def test_renewal_window_unknown_and_auditor(admin: AdminClient, auditor: AdminClient,
                                            cert_id: str) -> None:
    body = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}
    missing = f"/certificates/{uuid.uuid4()}/renewal-window"
    problem(admin.get(missing), 404, "notFound")
    problem(admin.request("PUT", missing, json_body=body), 404, "notFound")
    problem(admin.delete(missing), 404, "notFound")
    assert auditor.get(f"/certificates/{cert_id}/renewal-window").status_code == 200
    problem(auditor.request("PUT", f"/certificates/{cert_id}/renewal-window", json_body=body),
            403, "forbidden")
    problem(auditor.delete(f"/certificates/{cert_id}/renewal-window"), 403, "forbidden")


def test_crl_status_and_rebuild(admin: AdminClient, auditor: AdminClient, admin_server) -> None:
    before = auditor.get("/crl").json()
    assert before["status"] == "ok" and before["stale"] is False
    rebuilt = admin.post("/crl/rebuild")
    assert rebuilt.status_code == 200, rebuilt.text
    assert rebuilt.json()["number"] > before["number"]
    assert auditor.get("/crl").json()["number"] == rebuilt.json()["number"]
    problem(auditor.post("/crl/rebuild"), 403, "forbidden")
    problem(admin.post("/crl/rebuild", {"force": True}), 400, "badRequest")
    done = [r for r in audit_rows(admin_server, "crl.rebuild") if r["outcome"] == "success"]
    assert done[-1]["details"]["number"] == rebuilt.json()["number"]


@pytest.mark.parametrize("body", [
    {"statuses": []}, {"statuses": ["pending"]}, {"statuses": ["failed"]},
    {"statuses": ["sent", "sent"]}, {"older_than_days": -1}, {"older_than_days": "1"},
    {"everything": True},
], ids=["empty", "pending", "failed", "repeated", "negative", "string", "unknown"])
def test_purge_refusals(admin: AdminClient, body: dict) -> None:
    problem(admin.post("/notifications/purge", body), 400, "badRequest")


def test_purge_keeps_recent_and_unfinished(admin: AdminClient, auditor: AdminClient) -> None:
    kept = admin.post("/notifications/purge", {"older_than_days": 3650})
    assert kept.status_code == 200 and kept.json() == {"deleted": 0}
    problem(auditor.post("/notifications/purge"), 403, "forbidden")
