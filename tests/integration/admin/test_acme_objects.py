"""Accounts, orders, authorizations and certificates seen through the admin API, after a real
ACME flow (raw client, http-01 on loopback); deactivation and revocation by an operator."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from admin_support import AdminClient, audit_rows, problem
from cryptography import x509
from support.acme_client import ERROR_PREFIX, AcmeClient, Http01Responder, expect, problem_type


@dataclass
class Issued:
    client: AcmeClient
    account_id: str
    names: list[str]
    order_id: str
    cert: x509.Certificate
    serial: str
    contact: str


@pytest.fixture(scope="module")
def responder(admin_server) -> Iterator[Http01Responder]:
    with Http01Responder(admin_server.http01_port) as http01:
        yield http01


def issue(server, responder: Http01Responder, tag: str, count: int = 1) -> Issued:
    rand = uuid.uuid4().hex[:8]
    contact = f"mailto:{tag}-{rand}@example.com"
    client = AcmeClient(server.directory_url)
    expect(client.new_account(contact=[contact]), 201)
    names = [f"{tag}{i}-{rand}.localhost" for i in range(count)]
    got = client.obtain_certificate(names, http01=responder)
    cert = x509.load_pem_x509_certificate(got["pem"].encode())
    return Issued(client, client.kid.rsplit("/", 1)[1], names, got["order_url"].rsplit("/", 1)[1],
                  cert, format(cert.serial_number, "x"), contact)


@pytest.fixture(scope="module")
def issued(admin_server, responder: Http01Responder) -> Issued:
    return issue(admin_server, responder, "obj", 2)


def items(admin: AdminClient, path: str, **params: str) -> list[dict]:
    return [i for page in admin.pages(path, params) for i in page["items"]]


def test_account_search_and_detail(admin: AdminClient, issued: Issued) -> None:
    thumb = issued.client.kid and items(admin, "/accounts", contact=issued.contact[7:].upper())
    assert [a["id"] for a in thumb] == [issued.account_id]  # contact search ignores case
    account = thumb[0]
    assert items(admin, "/accounts", thumbprint=account["thumbprint"])[0]["id"] == issued.account_id
    assert issued.account_id in [a["id"] for a in items(admin, "/accounts", status="valid")]
    detail = admin.get(f"/accounts/{issued.account_id}").json()
    assert detail["contact"] == [issued.contact] and detail["order_count"] == 1
    assert detail["jwk"]["kty"] == "EC" and detail["eab_kid"] is None
    assert items(admin, "/accounts", contact="%") == items(admin, "/accounts", contact="%_%")


def test_order_search_and_detail(admin: AdminClient, issued: Issued) -> None:
    found = items(admin, "/orders", account_id=issued.account_id)
    assert [o["id"] for o in found] == [issued.order_id] and found[0]["status"] == "valid"
    assert items(admin, "/orders", identifier=issued.names[1])[0]["id"] == issued.order_id
    assert issued.order_id in [o["id"] for o in items(admin, "/orders", status="valid")]
    hour = timedelta(hours=1)
    now = datetime.now(UTC)
    window = {"created_after": (now - hour).isoformat(), "created_before": (now + hour).isoformat()}
    assert issued.order_id in [o["id"] for o in items(admin, "/orders", **window)]
    assert items(admin, "/orders", account_id=issued.account_id,
                 created_before=(now - hour).isoformat()) == []
    detail = admin.get(f"/orders/{issued.order_id}").json()
    assert detail["certificate_id"] and len(detail["authorizations"]) == 2
    for authz in detail["authorizations"]:
        assert authz["status"] == "valid" and authz["identifier"]["value"] in issued.names
        http = next(c for c in authz["challenges"] if c["type"] == "http-01")
        assert http["status"] == "valid" and http["validated_at"] and http["records"]


def test_authorization_search_and_detail(admin: AdminClient, issued: Issued) -> None:
    found = items(admin, "/authorizations", identifier=issued.names[0])
    assert len(found) == 1 and found[0]["account_id"] == issued.account_id
    detail = admin.get(f"/authorizations/{found[0]['id']}").json()
    assert {c["type"] for c in detail["challenges"]} >= {"http-01"}
    assert len(items(admin, "/authorizations", account_id=issued.account_id, status="valid")) == 2


def test_certificate_search_and_detail(admin: AdminClient, issued: Issued) -> None:
    colon_serial = ":".join(f"{b:02X}" for b in issued.cert.serial_number.to_bytes(20, "big"))
    for params in ({"serial": issued.serial}, {"serial": colon_serial},
                   {"name": issued.names[0]}, {"account_id": issued.account_id},
                   {"account_id": issued.account_id, "status": "valid"}):
        found = items(admin, "/certificates", **params)
        assert [c["serial"] for c in found] == [issued.serial], params
    not_after = issued.cert.not_valid_after_utc
    minute = timedelta(minutes=1)
    inside = {"expires_after": (not_after - minute).isoformat(),
              "expires_before": (not_after + minute).isoformat()}
    assert issued.serial in [c["serial"] for c in items(admin, "/certificates", **inside)]
    assert items(admin, "/certificates", account_id=issued.account_id, status="expired") == []
    cert = items(admin, "/certificates", serial=issued.serial)[0]
    detail = admin.get(f"/certificates/{cert['id']}").json()
    assert detail["pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert sorted(detail["names"]) == sorted(issued.names) and detail["status"] == "valid"
    problem(admin.get("/certificates", params={"serial": "xyz"}), 400)


def test_revoke_certificate(admin_server, admin: AdminClient, responder) -> None:
    target = issue(admin_server, responder, "rev")
    cert_id = items(admin, "/certificates", serial=target.serial)[0]["id"]
    problem(admin.post(f"/certificates/{cert_id}/revoke", {"reason": 7}), 400)
    resp = admin.post(f"/certificates/{cert_id}/revoke", {"reason": 1})
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "revoked" and resp.json()["revocation_reason"] == 1
    again = problem(admin.post(f"/certificates/{cert_id}/revoke"), 400)
    assert again["type"] == ERROR_PREFIX + "alreadyRevoked"
    assert items(admin, "/certificates", serial=target.serial, status="revoked")
    rows = [r for r in audit_rows(admin_server, "certificate.revoke")
            if r["target"] == f"certificate:{cert_id}"]
    assert [r["outcome"] for r in rows] == ["failure", "success", "failure"]


def test_bulk_revoke_dry_run_then_real(admin_server, admin: AdminClient, responder) -> None:
    first = issue(admin_server, responder, "bulk")
    second = issue(admin_server, responder, "bulk")
    flt = {"account_id": first.account_id}
    dry = admin.post("/certificates/bulk-revoke", {"filter": flt, "reason": 5})
    assert dry.json() == {"matched": 1, "revoked": 0, "dry_run": True}
    real = admin.post("/certificates/bulk-revoke", {"filter": flt, "reason": 5, "dry_run": False})
    assert real.json() == {"matched": 1, "revoked": 1, "dry_run": False}
    assert items(admin, "/certificates", serial=first.serial)[0]["status"] == "revoked"
    assert items(admin, "/certificates", serial=second.serial)[0]["status"] == "valid"
    again = admin.post("/certificates/bulk-revoke", {"filter": flt, "dry_run": False})
    assert again.json() == {"matched": 0, "revoked": 0, "dry_run": False}
    for bad in ({"filter": {}}, {"filter": {"status": "revoked"}}, {"reason": 1},
                {"filter": {"account_id": "nope"}}, {"filter": {"expires_after": "yesterday"}}):
        problem(admin.post("/certificates/bulk-revoke", bad), 400)


def test_deactivate_account(admin_server, admin: AdminClient, responder) -> None:
    target = issue(admin_server, responder, "deact")
    resp = admin.post(f"/accounts/{target.account_id}/deactivate")
    assert resp.status_code == 200 and resp.json()["status"] == "deactivated"
    problem(admin.post(f"/accounts/{target.account_id}/deactivate"), 409)
    problem(admin.post(f"/accounts/{uuid.uuid4()}/deactivate"), 404)
    refused = target.client.new_order([f"after-{uuid.uuid4().hex[:6]}.localhost"])
    assert problem_type(refused) == ERROR_PREFIX + "unauthorized"


def test_unknown_objects_are_404(admin: AdminClient) -> None:
    for kind in ("accounts", "orders", "authorizations", "certificates"):
        problem(admin.get(f"/{kind}/{uuid.uuid4()}"), 404)
