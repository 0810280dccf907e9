"""A full ACME run with JSON logs at DEBUG and secrets in the configuration: no secret, private
key or JWS signature appears in any log line; every security event has one audit record with
who, what, when and outcome; every line logged while serving a request carries its id."""
from __future__ import annotations

import base64
import json
import os
import secrets
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from opstools import get, json_lines
from psycopg.conninfo import make_conninfo
from support.acme_client import AcmeClient, Http01Responder, expect
from support.database import fresh_database
from support.server import RunningServer, as_uri, drop_database, worker_id

AUDITED = ("account.created", "order.finalized", "certificate.issued", "account.key_changed",
           "certificate.revoked", "account.deactivated")


def full_run(server: RunningServer, signatures: list[str]) -> None:
    """Every kind of ACME request; the JWS signatures sent are collected in `signatures`."""

    def keep(response: requests.Response) -> None:
        body = response.request.body
        if response.request.method == "POST" and body and body[:1] == b"{":
            jws = json.loads(body)
            signatures.append(jws.get("signature", ""))
            payload = base64.urlsafe_b64decode(jws.get("payload", "") + "==")
            inner = json.loads(payload) if payload[:1] == b"{" else {}
            if "signature" in inner:  # keyChange carries a second JWS inside (RFC 8555 §7.3.5)
                signatures.append(inner["signature"])

    client = AcmeClient(server.directory_url, on_response=keep)
    expect(client.new_account(contact=["mailto:ops@example.com"]), 201)
    with Http01Responder(server.http01_port) as http01:
        got = client.obtain_certificate([f"s-{uuid.uuid4().hex[:8]}.localhost"], http01=http01)
    expect(client.key_change(ec.generate_private_key(ec.SECP384R1())), 200)
    der = x509.load_pem_x509_certificate(got["pem"].encode()).public_bytes(Encoding.DER)
    expect(client.revoke(der, reason=4), 200)
    expect(client.deactivate_account(), 200)
    expect(client.post(client.kid), 401, 403)  # a deactivated account is refused


@pytest.fixture
def database_with_password() -> Iterator[tuple[str, str]]:
    """(URL carrying a password, the password) of a fresh database. The test cluster trusts
    local connections, so the password goes nowhere, but the server parses, pools and
    reconnects with the URL that holds it."""
    name = f"acmeeh_ops_secret_{worker_id()}_{os.getpid()}"
    password = f"Db-{secrets.token_urlsafe(12)}"
    url = as_uri(make_conninfo(fresh_database(name), password=password))
    yield url, password
    drop_database(name)


@pytest.mark.e2e
def test_no_secrets_in_logs_and_audit_records(start_acme_server: Callable[..., RunningServer],
                                              database_with_password: tuple[str, str],
                                              tmp_path: Path) -> None:
    database_url, db_password = database_with_password
    token_secret = secrets.token_urlsafe(40)
    metrics_token = f"Mt-{secrets.token_urlsafe(16)}"
    smtp_password = f"Smtp-{secrets.token_urlsafe(12)}"
    admin_password = f"Adm-{secrets.token_urlsafe(12)}"
    audit_file = tmp_path / "audit.log"
    server = start_acme_server({
        "database": {"url": database_url},
        "logging": {"level": "DEBUG", "format": "json",
                    "audit": {"enabled": True, "file": str(audit_file)}},
        "admin_api": {"enabled": True, "token_secret": token_secret},
        "metrics": {"auth_required": True, "token": metrics_token},
        "smtp": {"password": smtp_password},
    }, workers=2)
    signatures: list[str] = []
    full_run(server, signatures)
    assert get(f"{server.base_url}/metrics",
               headers={"Authorization": f"Bearer {metrics_token}"})[0] == 200
    assert get(f"{server.base_url}/metrics", headers={"Authorization": "Bearer nope"})[0] == 401
    login = requests.post(f"{server.base_url}/api/auth/login", timeout=10,
                          json={"username": "nobody", "password": admin_password})
    assert login.status_code in (400, 401)
    server.stop()  # the shutdown lines are part of the log too

    log = server.log_path.read_text(errors="replace")
    used = {"database password": db_password, "admin token_secret": token_secret,
            "metrics token": metrics_token, "smtp password": smtp_password,
            "admin login password": admin_password}
    leaked = [name for name, value in used.items() if value in log]
    assert not leaked, f"secrets in the server log: {leaked}"
    assert "PRIVATE KEY" not in log
    assert len(signatures) > 10
    assert not [s for s in signatures if s and s in log], "a JWS signature was logged"

    lines = json_lines(server.log_path)
    assert len(lines) > 50 and any(line["level"] == "DEBUG" for line in lines)
    served = [line for line in lines if line["logger"] == "acmeeh.authority"
              and line["msg"] in ("account created", "order created", "certificate issued")]
    assert len(served) == 3 and all(line["request_id"] for line in served)

    records = json_lines(audit_file)
    assert all(r["logger"] == "acmeeh.audit" and r["ts"].endswith("Z") and r["request_id"]
               and r["outcome"] in ("success", "failure") and r["actor"] for r in records)
    # The admin API audits on the same logger (its events: admin.*).
    acme = [r for r in records if not r.get("event", "admin.").startswith("admin.")]
    assert sorted(r["event"] for r in acme) == sorted(AUDITED), acme  # one record per event
    for record in acme:
        assert record["outcome"] == "success" and record["actor"].startswith("account:")
        assert record["remote_addr"] == "127.0.0.1"
    assert [r["outcome"] for r in records if "login" in r.get("event", r["msg"])] == ["failure"]
    assert not [value for value in used.values() if value in audit_file.read_text()]
