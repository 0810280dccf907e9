"""`admin create-user` and `inspect ... --json` against the admin test server's database."""
from __future__ import annotations

import json
import uuid

import pytest
from admin_support import AdminClient, audit_rows, run_cli
from cryptography import x509
from support.acme_client import AcmeClient, Http01Responder, expect


def test_create_user_prints_password_once(admin_server) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    done = run_cli(admin_server, "admin", "create-user", "--username", name,
                   "--email", f"{name}@example.com", "--role", "auditor")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    password = [line.split(": ", 1)[1] for line in lines if line.startswith("password: ")]
    assert len(password) == 1 and done.stdout.count(password[0]) == 1
    session = AdminClient(admin_server).as_user(name, password[0])
    me = session.get("/users/me").json()
    assert me["role"] == "auditor" and me["email"] == f"{name}@example.com"
    rows = [r for r in audit_rows(admin_server, "user.create")
            if r["target"] == f"user:{me['id']}"]
    assert rows and rows[0]["actor"].startswith("cli:") and password[0] not in str(rows)


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--username", "root", "--email", "r@example.com"], 1, "taken"),
    (["--username", "bad name", "--email", "r@example.com"], 1, "username"),
    (["--username", "okname", "--email", "nope"], 1, "email"),
    (["--username", "okname", "--email", "r@example.com", "--role", "owner"], 2, "invalid choice"),
    (["--username", "okname"], 2, "--email"),
], ids=["taken", "bad-username", "bad-email", "bad-role", "missing-email"])
def test_create_user_refusals(admin_server, root_password: str, args: list[str], code: int,
                              message: str) -> None:
    done = run_cli(admin_server, "admin", "create-user", *args)
    assert done.returncode == code and message in done.stderr, done.stdout + done.stderr
    assert "password:" not in done.stdout


def test_inspect_json(admin_server) -> None:
    client = AcmeClient(admin_server.directory_url)
    expect(client.new_account(contact=["mailto:inspect@example.com"]), 201)
    name = f"inspect-{uuid.uuid4().hex[:8]}.localhost"
    with Http01Responder(admin_server.http01_port) as http01:
        got = client.obtain_certificate([name], http01=http01)
    account_id = client.kid.rsplit("/", 1)[1]
    order_id = got["order_url"].rsplit("/", 1)[1]
    serial = format(x509.load_pem_x509_certificate(got["pem"].encode()).serial_number, "x")

    def inspect(kind: str, ident: str) -> dict:
        done = run_cli(admin_server, "inspect", kind, ident, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    account = inspect("account", account_id)
    assert account["contact"] == ["mailto:inspect@example.com"] and account["order_count"] == 1
    order = inspect("order", order_id)
    assert order["status"] == "valid" and order["authorizations"][0]["challenges"]
    cert = inspect("certificate", serial)
    assert cert["serial"] == serial and cert["names"] == [name]
    missing = run_cli(admin_server, "inspect", "order", str(uuid.uuid4()), "--json")
    assert missing.returncode == 1
