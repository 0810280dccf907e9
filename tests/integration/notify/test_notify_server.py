"""Through the running server (gunicorn, 2 workers): issue, revoke and deactivate with the raw
ACME client and receive the mails on a loopback SMTP server. The mail server is down at first:
issuance still succeeds, the notification waits as `failed`, and arrives once the server is up.
Then the other kinds (EAB key used, key changed, order failed, revoked by an admin) and a
disabled type."""
from __future__ import annotations

import time
import uuid

import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from integration.admin.admin_support import AdminClient, admin_overrides, create_user, eab_binding
from notify_support import SENDER, WAIT_SECONDS, Inbox, start_smtp
from support.acme_client import AcmeClient, Http01Responder, expect
from support.dns import free_port
from support.server import deep_merge
from test_notify_mailer import PASSWORD, authenticator


def outbox_states(database_url: str) -> list[tuple[str, str, int]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute("SELECT kind, status, attempts FROM notifications ORDER BY created_at").fetchall()
    return [(k, s, int(a)) for k, s, a in rows]


def wait_until(predicate, timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout}s")


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_mail_for_issue_revoke_deactivate(start_acme_server) -> None:
    smtp_port = free_port()  # nothing listens here yet
    server = start_acme_server({
        "notifications": {"delivery_interval_seconds": 1, "retry_delay_seconds": 1,
                          "retry_backoff_multiplier": 1.0, "max_retries": 50},
        "smtp": {"enabled": True, "host": "127.0.0.1", "port": smtp_port, "use_tls": False,
                 "from_address": SENDER, "timeout_seconds": 5,
                 "username": "mailer", "password": PASSWORD},
    })
    client = AcmeClient(server.directory_url)
    expect(client.new_account(contact=["mailto:owner@example.test"]), 201)
    name = f"mail-{uuid.uuid4().hex[:10]}.localhost"
    with Http01Responder(server.http01_port) as http01:
        issued = client.obtain_certificate([name], http01=http01)  # the mail server is down
    cert = x509.load_pem_x509_certificate(issued["pem"].encode())

    wait_until(lambda: ("certificate_issued", "failed") in
               {(k, s) for k, s, a in outbox_states(server.database_url) if a >= 1})
    # The mail server comes up (AUTH required; plain text is fine on loopback): the retry delivers.
    smtp = start_smtp(Inbox(), port=smtp_port, authenticator=authenticator, auth_required=True,
                      auth_require_tls=False)
    try:
        (issued_mail,) = smtp.inbox.wait_for(1)
        mail = issued_mail.message
        assert issued_mail.rcpt_tos == ["owner@example.test"] and mail["To"] == "owner@example.test"
        assert mail["From"] == SENDER and mail["Subject"] == f"Certificate issued for {name}"
        body = mail.get_content()
        assert format(cert.serial_number, "x") in body
        assert cert.not_valid_after_utc.strftime("%Y-%m-%d %H:%M:%S UTC") in body

        der = cert.public_bytes(serialization.Encoding.DER)
        expect(client.revoke(der, reason=4), 200)
        revoked = smtp.inbox.wait_for(2)[1].message
        assert revoked["Subject"].startswith(f"Certificate revoked: {name}")
        assert "superseded" in revoked.get_content()

        expect(client.deactivate_account(), 200)
        assert smtp.inbox.wait_for(3)[2].message["Subject"] == "ACME account deactivated"
        wait_until(lambda: {s for _k, s, _a in outbox_states(server.database_url)} == {"sent"})
        kinds = [k for k, _s, _a in outbox_states(server.database_url)]
        assert kinds == ["certificate_issued", "certificate_revoked", "account_deactivated"]
        time.sleep(1.5)  # more delivery ticks: nothing is sent twice
        assert len(smtp.inbox.messages) == 3
        assert PASSWORD not in server.log_path.read_text(errors="replace")
    finally:
        smtp.controller.stop()


def test_mail_for_the_new_kinds(start_acme_server, smtp) -> None:
    """eab_key_used (to the admin who made the key), account_key_changed, order_failed with
    the validation error, certificate_revoked_by_admin; certificate_issued is a disabled type."""
    server = start_acme_server(deep_merge(admin_overrides(), {
        "notifications": {"delivery_interval_seconds": 1, "disabled_types": ["certificate_issued"]},
        "smtp": {"enabled": True, "host": "127.0.0.1", "port": smtp.port, "use_tls": False,
                 "from_address": SENDER, "timeout_seconds": 5},
    }))
    admin = AdminClient(server).as_user("root", create_user(server, "root"))
    key = admin.post("/eab", {"label": "team-mail"}).json()
    client = AcmeClient(server.directory_url)
    binding = eab_binding(client.key, key["kid"], key["hmac_key"], client.url("newAccount"))
    expect(client.new_account(contact=["mailto:owner@example.test"],
                              externalAccountBinding=binding), 201)
    (used,) = smtp.inbox.wait_for(1)
    assert used.rcpt_tos == ["root@example.com"]
    assert used.message["Subject"] == f"EAB key {key['kid']} was used"
    assert "team-mail" in used.message.get_content()

    expect(client.key_change(ec.generate_private_key(ec.SECP256R1())), 200)
    changed = smtp.inbox.wait_for(2)[1]
    assert changed.rcpt_tos == ["owner@example.test"]
    assert changed.message["Subject"] == "ACME account key changed"

    failing = f"nobody-{uuid.uuid4().hex[:8]}.localhost"
    order = expect(client.new_order([failing]), 201)
    authz = expect(client.get_authz(order.json()["authorizations"][0]), 200).json()
    expect(client.respond(next(c for c in authz["challenges"] if c["type"] == "http-01")["url"]),
           200)
    client.poll(order.headers["Location"], {"invalid"})
    failed = smtp.inbox.wait_for(3)[2].message
    assert failed["Subject"] == f"ACME order failed for {failing}"
    assert "Validation:" in failed.get_content() and "connection" in failed.get_content()

    name = f"mail-{uuid.uuid4().hex[:8]}.localhost"
    with Http01Responder(server.http01_port) as http01:
        pem = client.obtain_certificate([name], http01=http01)["pem"]
    serial = format(x509.load_pem_x509_certificate(pem.encode()).serial_number, "x")
    cert_id = admin.get("/certificates", params={"serial": serial}).json()["items"][0]["id"]
    assert admin.post(f"/certificates/{cert_id}/revoke", {"reason": 5}).status_code == 200
    revoked = smtp.inbox.wait_for(4)[3].message
    assert revoked["Subject"] == f"Certificate revoked by the CA: {name} (serial {serial})"
    assert "cessationOfOperation" in revoked.get_content()
    kinds = [k for k, _s, _a in outbox_states(server.database_url)]
    assert "certificate_issued" not in kinds
    assert kinds == ["eab_key_used", "account_key_changed", "order_failed",
                     "certificate_revoked_by_admin"]
