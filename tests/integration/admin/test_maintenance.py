"""Maintenance mode: newOrder answers 503 + Retry-After: 300 on every worker; orders under
way still validate, finalize and download; accounts keep working; certbot is refused, then
succeeds once maintenance is over."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from admin_support import AdminClient, audit_rows, problem
from support.acme_client import (
    ERROR_PREFIX,
    PROBLEM_JSON,
    AcmeClient,
    Http01Responder,
    expect,
    make_csr,
)
from support.certbot import Certbot, dns_names


@pytest.fixture
def maintenance(admin: AdminClient) -> Iterator[AdminClient]:
    """Turns maintenance off again whatever happens."""
    yield admin
    assert admin.post("/maintenance", {"enabled": False}).status_code == 200


def name(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}.localhost"


def test_maintenance_pauses_new_orders_only(admin_server, maintenance: AdminClient,
                                            tmp_path: Path) -> None:
    admin = maintenance
    client = AcmeClient(admin_server.directory_url)
    expect(client.new_account(contact=["mailto:maint@example.com"]), 201)
    ready_name, pending_name = name("ready"), name("pending")
    with Http01Responder(admin_server.http01_port) as http01:
        ready = expect(client.new_order([ready_name]), 201)
        client.complete_authorizations(ready.json(), http01=http01)
        pending = expect(client.new_order([pending_name]), 201)

        resp = admin.post("/maintenance", {"enabled": True})
        assert resp.status_code == 200 and resp.json()["enabled"] is True
        state = admin.get("/maintenance").json()
        assert state["enabled"] and state["changed_by"] == "root"

        for _ in range(4):  # both gunicorn workers read the switch from the database
            refused = client.new_order([name("refused")])
            assert refused.status_code == 503, refused.text
            assert refused.headers["Retry-After"] == "300"
            assert refused.headers["Content-Type"].startswith(PROBLEM_JSON)
            assert refused.json()["type"] == ERROR_PREFIX + "serverInternal"
            assert "maintenance" in refused.json()["detail"]
            preauth = client.post(client.directory["newAuthz"],
                                  {"identifier": {"type": "dns", "value": name("pre")}})
            assert preauth.status_code == 503, preauth.text
            assert preauth.headers["Retry-After"] == "300"

        # An order that was ready finalizes and its certificate downloads.
        order_url = ready.headers["Location"]
        csr, _ = make_csr([ready_name])
        expect(client.finalize(client.poll(order_url, {"ready"}).json(), csr), 200)
        done = client.poll(order_url, {"valid"}).json()
        assert done["status"] == "valid"
        expect(client.download(done["certificate"]), 200)

        # A pending order's challenge still validates; the order still finalizes.
        client.complete_authorizations(pending.json(), http01=http01)
        csr, _ = make_csr([pending_name])
        pending_url = pending.headers["Location"]
        expect(client.finalize(client.poll(pending_url, {"ready"}).json(), csr), 200)
        assert client.poll(pending_url, {"valid"}).json()["status"] == "valid"

    # Account operations go on.
    expect(client.update_account(contact=["mailto:still@example.com"]), 200)
    expect(AcmeClient(admin_server.directory_url).new_account(), 201)
    # Readiness is not affected by maintenance (404 until a readiness endpoint exists).
    ready_probe = requests.get(admin_server.base_url + "/readyz", timeout=10)
    assert ready_probe.status_code in (200, 404)

    # certbot: refused while maintenance is on; the 503 and Retry-After are in its log.
    certbot = Certbot(admin_server, tmp_path / "certbot")
    refused_run = certbot.certonly_standalone(name("certbot"), check=False)
    assert refused_run.returncode != 0, certbot.describe(refused_run)
    log = certbot.log_text()
    assert "503" in log and "Retry-After: 300" in log and "maintenance" in log, log[-3000:]

    assert admin.post("/maintenance", {"enabled": False}).json()["enabled"] is False
    domain = name("after")
    certbot.certonly_standalone(domain)
    assert dns_names(certbot.certificate(domain)) == {domain}
    changes = [r["details"]["enabled"] for r in audit_rows(admin_server, "maintenance.set")
               if r["outcome"] == "success"]
    assert changes[-2:] == [True, False]


@pytest.mark.parametrize("body", [{}, {"enabled": "yes"}, {"enabled": 1}, {"enabled": True,
                                                                          "until": "later"}])
def test_bad_maintenance_bodies(inproc_admin: AdminClient, body: dict) -> None:
    problem(inproc_admin.post("/maintenance", body), 400, "badRequest")
    assert inproc_admin.get("/maintenance").json()["enabled"] is False
