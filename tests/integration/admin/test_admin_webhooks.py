"""Webhooks end to end: the running server (gunicorn) POSTs signed events to a real receiver
on loopback; the receiver goes down and comes back; dead letters show in the API and the CLI
and go out again when retried. Served in process: targets outside the allowed networks are
refused, bad subscriptions too, and managing them follows the roles."""
from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pytest
from admin_support import AdminClient, problem
from cryptography import x509
from support.acme_client import AcmeClient, Http01Responder, expect
from support.dns import free_port
from support.server import ROOT, child_env
from support.webhook_receiver import Receiver

from acmeeh.notify.webhook import SIGNATURE_HEADER, verify

ALL = ["certificate.issued", "certificate.revoked", "certificate.expiring", "order.invalid",
       "account.created", "account.deactivated", "maintenance.changed"]
WAIT = 30.0


def subscribe(admin: AdminClient, url: str, events: list[str] = ALL) -> dict:
    resp = admin.post("/webhooks", {"url": url, "events": events, "description": "test"})
    assert resp.status_code == 201, resp.text
    return resp.json()


def deliveries(admin: AdminClient, webhook_id: str, **query: str) -> list[dict]:
    resp = admin.get("/webhook-deliveries", params={"webhook_id": webhook_id, **query})
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


def wait_until(check, timeout: float = WAIT):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_every_event_is_delivered_signed(admin: AdminClient, admin_server) -> None:
    with Receiver() as receiver:
        hook = subscribe(admin, receiver.url)
        secret = hook.pop("secret")
        assert "secret" not in admin.get(f"/webhooks/{hook['id']}").json()
        assert secret not in json.dumps(admin.get("/webhooks").json())

        client = AcmeClient(admin_server.directory_url)
        expect(client.new_account(contact=["mailto:hooked@example.com"]), 201)
        account_id = client.kid.rsplit("/", 1)[1]
        name = f"hook-{uuid.uuid4().hex[:8]}.localhost"
        with Http01Responder(admin_server.http01_port) as http01:
            pem = client.obtain_certificate([name], http01=http01)["pem"]
        serial = format(x509.load_pem_x509_certificate(pem.encode()).serial_number, "x")
        cert_id = admin.get("/certificates", params={"serial": serial}).json()["items"][0]["id"]
        assert admin.post(f"/certificates/{cert_id}/revoke", {"reason": 4}).status_code == 200
        # A validation that fails (nobody answers http-01): the order becomes invalid.
        failing = f"nobody-{uuid.uuid4().hex[:8]}.localhost"
        order = expect(client.new_order([failing]), 201)
        authz = expect(client.get_authz(order.json()["authorizations"][0]), 200).json()
        http = next(c for c in authz["challenges"] if c["type"] == "http-01")
        expect(client.respond(http["url"]), 200)
        client.poll(order.headers["Location"], {"invalid"})
        assert admin.post("/maintenance", {"enabled": True}).status_code == 200
        assert admin.post("/maintenance", {"enabled": False}).status_code == 200
        expect(client.deactivate_account(), 200)

        created = receiver.wait_for("account.created")
        assert any(r.json()["data"]["account_id"] == account_id for r in created)
        issued = [r for r in receiver.wait_for("certificate.issued")
                  if r.json()["data"]["serial"] == serial]
        assert issued and issued[0].json()["data"]["names"] == [name]
        revoked = [r.json()["data"] for r in receiver.wait_for("certificate.revoked")
                   if r.json()["data"]["serial"] == serial][0]
        assert revoked["revoked_by"] == "operator" and revoked["reason"] == "superseded"
        invalid = [r.json()["data"] for r in receiver.wait_for("order.invalid")
                   if r.json()["data"]["identifiers"] == [failing]][0]
        assert invalid["validation_error"]["type"].endswith(":connection")
        changes = sorted((r.json()["data"] for r in receiver.wait_for("maintenance.changed", 2)),
                         key=lambda d: d["changed_at"])
        assert [c["enabled"] for c in changes[-2:]] == [True, False]
        gone = receiver.wait_for("account.deactivated")
        assert any(r.json()["data"]["deactivated_by"] == "account" for r in gone)

        for got in receiver.events():
            body = got.json()
            assert got.path == "/hooks/acmeeh?src=test"
            assert got.headers["Content-Type"] == "application/json"
            assert got.headers["ACMEEH-Event"] == body["type"]
            assert got.headers["ACMEEH-Event-Id"] == body["id"]
            assert verify(secret, got.headers[SIGNATURE_HEADER], got.body)
            assert not verify(secret, got.headers[SIGNATURE_HEADER], got.body + b" ")
            assert not verify("wrong", got.headers[SIGNATURE_HEADER], got.body)
        # The row is marked delivered just after the receiver answers: wait for the last ones.
        done = wait_until(lambda: (rows := deliveries(admin, hook["id"], status="delivered"))
                          and len(rows) >= len(receiver.events()) and rows)
        assert all(d["last_status"] == 204 for d in done)
    assert admin.delete(f"/webhooks/{hook['id']}").status_code == 204


def test_receiver_down_then_back(admin: AdminClient) -> None:
    receiver = Receiver()
    hook = subscribe(admin, receiver.url, ["maintenance.changed"])
    try:
        assert admin.post("/maintenance", {"enabled": True}).status_code == 200
        failed = wait_until(lambda: [d for d in deliveries(admin, hook["id"])
                                     if d["status"] == "failed"])
        assert "Connection refused" in failed[0]["last_error"] and failed[0]["attempts"] >= 1
        receiver.start()  # back, on the same port, before the attempts run out
        got = receiver.wait_for("maintenance.changed")
        assert got[0].json()["data"]["enabled"] is True
        delivered = wait_until(lambda: [d for d in deliveries(admin, hook["id"])
                                        if d["status"] == "delivered"])
        assert delivered[0]["attempts"] >= 2
    finally:
        admin.post("/maintenance", {"enabled": False})
        receiver.stop()
        admin.delete(f"/webhooks/{hook['id']}")


def test_dead_letters_show_and_can_be_retried(admin: AdminClient, admin_server) -> None:
    receiver = Receiver(status=500)  # answers, but fails: three attempts, then dead
    hook = subscribe(admin, receiver.url, ["maintenance.changed"])
    receiver.start()
    try:
        assert admin.post("/maintenance", {"enabled": True}).status_code == 200
        dead = wait_until(lambda: deliveries(admin, hook["id"], status="dead"))
        assert dead[0]["attempts"] == 3 and dead[0]["last_status"] == 500
        assert len(receiver.events()) == 3
        env_done = _cli_with_token(admin_server, admin.token, "webhooks", "deliveries",
                                   "--status", "dead", "--webhook", hook["id"])
        assert dead[0]["id"] in env_done.stdout and "HTTP 500" in env_done.stdout
        receiver.status = 204
        retried = _cli_with_token(admin_server, admin.token, "--json", "webhooks", "retry",
                                  dead[0]["id"])
        assert json.loads(retried.stdout)["status"] == "pending"
        wait_until(lambda: deliveries(admin, hook["id"], status="delivered"))
        problem(admin.post(f"/webhook-deliveries/{dead[0]['id']}/retry"), 409, "conflict")
    finally:
        admin.post("/maintenance", {"enabled": False})
        receiver.stop()
        admin.delete(f"/webhooks/{hook['id']}")


def _cli_with_token(server, token: str, *args: str) -> subprocess.CompletedProcess:
    env = child_env({"ACMEEH_ADMIN_URL": f"{server.base_url}/api", "ACMEEH_ADMIN_TOKEN": token})
    done = subprocess.run([sys.executable, "-m", "acmeeh", "admin", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.parametrize(("url", "fragment"), [
    ("http://169.254.169.254/latest/meta-data", "not allowed"),
    ("http://10.0.0.1/hook", "not allowed"),
    ("http://[::1]/hook", "not allowed"),
    ("ftp://127.0.0.1/hook", "http or https"),
    ("http://user:pw@127.0.0.1/hook", "user"),
    ("http://127.0.0.1:99999/hook", "port"),
    ("/relative", "http or https"),
    ("http://127.0.0.1/a#frag", "fragment"),
], ids=["metadata", "private-outside-allowed", "ipv6-loopback", "ftp", "userinfo", "port",
        "relative", "fragment"])
def test_refused_targets(inproc_admin: AdminClient, url: str, fragment: str) -> None:
    found = problem(inproc_admin.post("/webhooks", {"url": url, "events": ["account.created"]}), 400,
                    "badRequest")
    assert fragment in found["detail"], found


@pytest.mark.parametrize("body", [
    {"url": "http://127.0.0.1/x", "events": []},
    {"url": "http://127.0.0.1/x", "events": ["certificate.exploded"]},
    {"url": "http://127.0.0.1/x"},
    {"events": ["account.created"]},
    {"url": "http://127.0.0.1/x", "events": ["account.created"], "secret": "mine"},
], ids=["no-events", "unknown-event", "no-events-key", "no-url", "own-secret"])
def test_bad_subscriptions(inproc_admin: AdminClient, body: dict) -> None:
    problem(inproc_admin.post("/webhooks", body), 400, "badRequest")


def test_manage_and_roles(inproc_admin: AdminClient, inproc_auditor: AdminClient) -> None:
    admin, auditor = inproc_admin, inproc_auditor
    closed = f"http://127.0.0.1:{free_port()}/x"
    hook = subscribe(admin, closed, ["account.created"])
    paused = admin.patch(f"/webhooks/{hook['id']}", {"enabled": False,
                                                    "events": ["order.invalid"]})
    assert paused.status_code == 200 and paused.json()["enabled"] is False
    assert paused.json()["events"] == ["order.invalid"]
    assert auditor.get(f"/webhooks/{hook['id']}").status_code == 200
    assert auditor.get("/webhook-deliveries", params={"status": "dead"}).status_code == 200
    problem(auditor.post("/webhooks", {"url": closed, "events": ["account.created"]}), 403,
            "forbidden")
    problem(auditor.delete(f"/webhooks/{hook['id']}"), 403, "forbidden")
    problem(admin.patch(f"/webhooks/{hook['id']}", {"url": "http://169.254.169.254/"}), 400)
    problem(admin.patch(f"/webhooks/{hook['id']}", {}), 400)
    assert admin.delete(f"/webhooks/{hook['id']}").status_code == 204
    problem(admin.get(f"/webhooks/{hook['id']}"), 404, "notFound")
    problem(admin.delete(f"/webhooks/{hook['id']}"), 404, "notFound")
    problem(admin.get(f"/webhook-deliveries/{uuid.uuid4()}"), 404, "notFound")
    problem(admin.post(f"/webhook-deliveries/{uuid.uuid4()}/retry"), 404, "notFound")
    problem(admin.get("/webhook-deliveries", params={"status": "lost"}), 400)
