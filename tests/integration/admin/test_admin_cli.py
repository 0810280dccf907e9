"""`python -m acmeeh admin ...` against the running admin API: every command, its tables and
--json, the 0600 login session, and the exit codes automation relies on.

Most commands run in process (acmeeh.cli.main, the same code path as the console script);
login and the unreachable server run as real subprocesses."""
from __future__ import annotations

import argparse
import base64
import json
import os
import stat
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from admin_support import AdminClient, audit_rows
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from support.acme_client import AcmeClient, Http01Responder, expect
from support.dns import free_port
from support.server import ROOT, child_env

from acmeeh.authority.renewal import cert_id
from acmeeh.cli import main
from acmeeh.cli.admin.parser import leaves
from acmeeh.cli.args import build_parser


class Cli:
    """Runs `acmeeh admin ARGS` in process with its own session file; returns (code, out, err)."""

    def __init__(self, url: str, session: Path, capsys: pytest.CaptureFixture[str],
                 monkeypatch: pytest.MonkeyPatch) -> None:
        self.url, self.session, self.capsys = url, session, capsys
        monkeypatch.setenv("ACMEEH_ADMIN_SESSION", str(session))
        for name in ("ACMEEH_ADMIN_URL", "ACMEEH_ADMIN_TOKEN", "ACMEEH_ADMIN_CACERT"):
            monkeypatch.delenv(name, raising=False)
        self.monkeypatch = monkeypatch

    def __call__(self, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
        self.capsys.readouterr()
        if stdin is not None:
            self.monkeypatch.setattr(sys, "stdin", _Input(stdin))
        code = main(["admin", *args])
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *args: str) -> dict:
        code, out, err = self(*args, "--json")
        assert code == 0, err
        return json.loads(out)

    def login(self, username: str, password: str) -> None:
        code, out, err = self("--url", self.url, "login", "-u", username, "--password-stdin",
                              stdin=password + "\n")
        assert code == 0, err
        assert f"as {username}" in out


class _Input:
    """A non-terminal standard input holding `text`."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines(keepends=True)

    def readline(self) -> str:
        return self.lines.pop(0) if self.lines else ""

    def isatty(self) -> bool:
        return False


@pytest.fixture
def cli(admin_server, tmp_path: Path, capsys, monkeypatch) -> Cli:
    return Cli(f"{admin_server.base_url}/api", tmp_path / "cfg" / "session.json", capsys,
               monkeypatch)


@pytest.fixture
def root_cli(cli: Cli, root_password: str) -> Cli:
    cli.login("root", root_password)
    return cli


@pytest.fixture(scope="module")
def issued(admin_server) -> dict:
    """One certificate issued over ACME, shared by the certificate tests of this module."""
    client = AcmeClient(admin_server.directory_url)
    expect(client.new_account(contact=["mailto:cli-owner@example.com"]), 201)
    name = f"cli-{uuid.uuid4().hex[:8]}.localhost"
    with Http01Responder(admin_server.http01_port) as http01:
        got = client.obtain_certificate([name], http01=http01)
    cert = x509.load_pem_x509_certificate(got["pem"].encode())
    return {"client": client, "name": name, "pem": got["pem"], "cert": cert,
            "serial": format(cert.serial_number, "x"),
            "account_id": client.kid.rsplit("/", 1)[1]}


def test_login_keeps_a_0600_session_and_logout_revokes_it(cli: Cli, admin_server,
                                                          root_password: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "acmeeh", "admin", "--url", cli.url, "login", "--username",
         "root", "--password-stdin"],
        input=root_password + "\n", capture_output=True, text=True, timeout=60, cwd=ROOT,
        env=child_env({"ACMEEH_ADMIN_SESSION": str(cli.session)}), check=False)
    assert done.returncode == 0, done.stderr
    assert root_password not in done.stdout + done.stderr
    assert stat.S_IMODE(cli.session.stat().st_mode) == 0o600
    assert stat.S_IMODE(cli.session.parent.stat().st_mode) == 0o700
    token = json.loads(cli.session.read_text())["token"]
    assert cli.json("whoami")["username"] == "root"

    cli.session.chmod(0o644)  # readable by others: refused, not used
    code, _, err = cli("whoami")
    assert code == 3 and "chmod 600" in err
    cli.session.chmod(0o600)

    code, out, _ = cli("logout")
    assert code == 0 and "logged out" in out and not cli.session.exists()
    assert AdminClient(admin_server).get("/users/me", token=token).status_code == 401
    code, _, err = cli("--url", cli.url, "whoami")
    assert code == 3 and "not logged in" in err


def test_environment_url_and_token(cli: Cli, admin: AdminClient, monkeypatch) -> None:
    monkeypatch.setenv("ACMEEH_ADMIN_URL", cli.url)
    monkeypatch.setenv("ACMEEH_ADMIN_TOKEN", admin.token)
    users = cli.json("users", "list", "--role", "admin")
    assert "root" in {u["username"] for u in users["items"]}
    code, out, _ = cli("users", "list")
    assert code == 0 and out.splitlines()[0].split()[:3] == ["ID", "USERNAME", "ROLE"]
    monkeypatch.setenv("ACMEEH_ADMIN_TOKEN", "x" * 43)
    code, _, err = cli("whoami")
    assert code == 3 and "HTTP 401" in err


def test_wrong_password_and_unreachable_server(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("--url", cli.url, "login", "-u", "root", "--password-stdin",
                       stdin="not the password\n")
    assert code == 3 and "HTTP 401" in err and not cli.session.exists()
    closed = f"http://127.0.0.1:{free_port()}/api"
    done = subprocess.run(
        [sys.executable, "-m", "acmeeh", "admin", "--url", closed, "--timeout", "5", "openapi"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, env=child_env(), check=False)
    assert done.returncode == 8 and "cannot reach" in done.stderr
    code, _, err = cli("whoami")  # no URL anywhere
    assert code == 2 and "--url" in err


def test_openapi_and_every_operation_has_a_command(cli: Cli) -> None:
    code, out, _ = cli("--url", cli.url, "openapi")
    assert code == 0
    served = json.loads(out)
    admin_parser = _subcommand(build_parser(), "admin")
    covered = {op for _, leaf in leaves(admin_parser)
               for op in leaf.get_default("operations") or ()}
    documented = {op["operationId"] for item in served["paths"].values()
                  for key, op in item.items() if key != "parameters"}
    assert documented - covered == set(), "operations without a CLI command"
    assert covered - documented == set(), "CLI commands naming unknown operations"


def _subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return actions[0].choices[name]


def test_users(root_cli: Cli) -> None:
    name = f"op-{uuid.uuid4().hex[:8]}"
    code, out, err = root_cli("users", "create", "--username", name, "--email",
                              f"{name}@example.com", "--role", "auditor")
    assert code == 0 and "shown only this once" in err
    password = next(line.split(": ", 1)[1] for line in out.splitlines()
                    if line.startswith("password: "))
    user_id = out.split("(")[1].split(")")[0]
    shown = root_cli.json("users", "show", user_id)
    assert shown["role"] == "auditor" and shown["email"] == f"{name}@example.com"
    assert root_cli.json("users", "update", user_id, "--disable")["disabled"] is True
    assert root_cli.json("users", "update", user_id, "--enable", "--role", "admin")["role"] == \
        "admin"
    reset = root_cli.json("users", "reset-password", user_id)
    assert reset["password"] != password and reset["user"]["id"] == user_id
    code, _, err = root_cli("users", "update", user_id)
    assert code == 2 and "nothing to change" in err


def test_eab_keys(root_cli: Cli) -> None:
    code, out, err = root_cli("eab", "create", "--label", "cli team")
    assert code == 0 and "shown only this once" in err
    kid = out.split("kid:")[1].split()[0]
    hmac_key = out.split("hmac key:")[1].split()[0]
    assert len(base64.urlsafe_b64decode(hmac_key + "=")) == 32
    code, listed, _ = root_cli("eab", "list", "--status", "unused", "--all")
    assert code == 0 and kid in listed and hmac_key not in listed
    assert root_cli.json("eab", "show", kid)["label"] == "cli team"
    assert root_cli.json("eab", "revoke", kid)["status"] == "revoked"
    code, _, err = root_cli("eab", "revoke", kid)
    assert code == 6 and "already revoked" in err
    code, _, _ = root_cli("eab", "show", "kid-does-not-exist")
    assert code == 5


def test_allowlists(root_cli: Cli) -> None:
    kid = root_cli.json("eab", "create")["kid"]
    added = root_cli.json("allowlists", "add", "--scope", "eab", "--scope-id", kid,
                          "--kind", "suffix", "--value", "cli.example")
    listed = root_cli.json("allowlists", "list", "--scope", "eab", "--scope-id", kid)
    assert [e["id"] for e in listed["items"]] == [added["id"]]
    assert root_cli.json("allowlists", "show", added["id"])["value"] == "cli.example"
    code, out, _ = root_cli("allowlists", "remove", added["id"])
    assert code == 0 and "removed" in out
    code, _, _ = root_cli("allowlists", "show", added["id"])
    assert code == 5


def test_blocked_keys(root_cli: Cli, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = tmp_path / "key.pem"
    pem.write_bytes(key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    blocked = root_cli.json("blocked-keys", "block", "--public-key", str(pem), "--comment", "cli")
    spki = blocked["spki_sha256"]
    assert blocked["source"] == "admin" and blocked["comment"] == "cli"
    assert spki in {k["spki_sha256"] for k in root_cli.json("blocked-keys", "list")["items"]}
    assert root_cli.json("blocked-keys", "show", spki)["spki_sha256"] == spki
    code, _, _ = root_cli("blocked-keys", "block", "--spki-sha256", spki)
    assert code == 6  # conflict: blocked already
    code, out, _ = root_cli("blocked-keys", "unblock", spki)
    assert code == 0 and "unblocked" in out
    code, _, _ = root_cli("blocked-keys", "show", spki)
    assert code == 5
    code, _, _ = root_cli("blocked-keys", "block")
    assert code == 2  # one of --spki-sha256 and --public-key


def test_accounts_orders_and_authorizations(root_cli: Cli, issued: dict) -> None:
    found = root_cli.json("accounts", "search", "--contact", "cli-owner@")
    assert issued["account_id"] in {a["id"] for a in found["items"]}
    account = root_cli.json("accounts", "show", issued["account_id"])
    assert account["order_count"] == 1
    orders = root_cli.json("orders", "search", "--account-id", issued["account_id"])
    order_id = orders["items"][0]["id"]
    code, out, _ = root_cli("orders", "show", order_id)
    assert code == 0 and "http-01" in out and issued["name"] in out
    authzs = root_cli.json("authorizations", "search", "--identifier", issued["name"])
    shown = root_cli.json("authorizations", "show", authzs["items"][0]["id"])
    assert shown["status"] == "valid" and shown["challenges"]
    code, _, err = root_cli("orders", "show", "not-a-uuid")
    assert code in (5, 7), err


def test_certificates_and_renewal_windows(root_cli: Cli, issued: dict, admin_server,
                                          tmp_path: Path) -> None:
    serial = issued["serial"]
    code, out, _ = root_cli("certificates", "search", "--name", issued["name"])
    assert code == 0 and serial in out
    shown = root_cli.json("certificates", "show", serial)
    assert shown["names"] == [issued["name"]] and shown["status"] == "valid"
    target = tmp_path / "chain.pem"
    assert root_cli("certificates", "download", serial, "-o", str(target))[0] == 0
    assert target.read_text() == issued["pem"]

    start = datetime.now(UTC) - timedelta(hours=1)
    end = start + timedelta(hours=2)
    window = root_cli.json("renewal-window", "set", shown["id"], "--start", start.isoformat(),
                           "--end", end.isoformat(), "--explanation-url",
                           "https://status.example.com/rekey")
    assert window["source"] == "operator"
    ari = _renewal_info(admin_server, issued)
    assert ari["explanationURL"] == "https://status.example.com/rekey"
    assert ari["suggestedWindow"]["start"].startswith(start.strftime("%Y-%m-%dT%H:%M"))
    code, _, err = root_cli("renewal-window", "set", serial, "--start", end.isoformat(),
                            "--end", start.isoformat())
    assert code == 7 and "after" in err
    assert root_cli.json("renewal-window", "clear", serial)["source"] == "computed"
    assert "explanationURL" not in _renewal_info(admin_server, issued)
    assert root_cli.json("renewal-window", "show", serial)["source"] == "computed"


def _renewal_info(server, issued: dict) -> dict:
    client: AcmeClient = issued["client"]
    text = cert_id(issued["cert"].public_bytes(Encoding.DER))
    resp = requests.get(f"{client.url('renewalInfo')}/{text}", timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_revocation_one_and_bulk(root_cli: Cli, admin_server) -> None:
    client = AcmeClient(admin_server.directory_url)
    expect(client.new_account(contact=["mailto:bulk@example.com"]), 201)
    tag = uuid.uuid4().hex[:8]
    names = [f"r1-{tag}.localhost", f"r2-{tag}.localhost", f"r3-{tag}.localhost"]
    serials = []
    with Http01Responder(admin_server.http01_port) as http01:
        for name in names:
            pem = client.obtain_certificate([name], http01=http01)["pem"]
            serials.append(format(x509.load_pem_x509_certificate(pem.encode()).serial_number,
                                  "x"))
    revoked = root_cli.json("certificates", "revoke", serials[0], "--reason", "keyCompromise")
    assert revoked["status"] == "revoked" and revoked["revocation_reason"] == 1
    code, _, err = root_cli("certificates", "revoke", serials[0])
    assert code == 6 and "alreadyRevoked" in err
    code, _, err = root_cli("certificates", "revoke", serials[1], "--reason", "cACompromise")
    assert code == 2 and "--reason" in err

    account_id = client.kid.rsplit("/", 1)[1]
    code, out, _ = root_cli("certificates", "bulk-revoke", "--account-id", account_id,
                            "--dry-run")
    assert code == 0 and "2 certificate(s) match (dry run" in out
    code, _, err = root_cli("certificates", "bulk-revoke", "--account-id", account_id,
                            stdin="")
    assert code == 2 and "--yes" in err
    done = root_cli.json("certificates", "bulk-revoke", "--account-id", account_id, "--yes",
                         "--reason", "superseded")
    assert done == {"matched": 2, "revoked": 2, "dry_run": False}
    code, out, _ = root_cli("certificates", "bulk-revoke", "--account-id", account_id, "--yes")
    assert code == 0 and "no certificate matches" in out
    code, _, err = root_cli("certificates", "bulk-revoke")
    assert code == 2 and "filter" in err


def test_auditor_is_refused_writes(cli: Cli, auditor_password: str) -> None:
    cli.login("watcher", auditor_password)
    assert cli("maintenance", "status")[0] == 0
    code, _, err = cli("maintenance", "on")
    assert code == 4 and "forbidden" in err


def test_maintenance(root_cli: Cli) -> None:
    try:
        assert root_cli.json("maintenance", "on")["enabled"] is True
        code, out, _ = root_cli("maintenance", "status")
        assert code == 0 and out.startswith("enabled:") and "yes" in out.splitlines()[0]
    finally:
        assert root_cli.json("maintenance", "off")["enabled"] is False


def test_audit_export(root_cli: Cli, tmp_path: Path) -> None:
    root_cli("eab", "create", "--label", "audited")
    target = tmp_path / "audit.csv"
    code, _, err = root_cli("audit", "export", "--format", "csv", "--action", "eab.*", "-o",
                            str(target))
    assert code == 0 and "wrote" in err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    lines = target.read_text().splitlines()
    assert lines[0].startswith("id,created_at,actor") and any("eab.create" in x for x in lines)
    code, _, err = root_cli("audit", "export", "-o", str(target))
    assert code == 2 and "--force" in err
    assert root_cli("audit", "export", "--force", "--actor", "root", "-o", str(target))[0] == 0
    events = [json.loads(line) for line in target.read_text().splitlines()]
    assert events and {e["actor"] for e in events} == {"root"}
    listed = root_cli.json("audit", "list", "--action", "eab.create", "--limit", "1")
    assert len(listed["items"]) == 1 and listed["next_cursor"]
    code, _, err = root_cli("audit", "list", "--since", "yesterday")
    assert code == 7 and "since" in err


def test_notifications_and_crl(root_cli: Cli, admin_server) -> None:
    listed = root_cli.json("notifications", "list", "--all")
    assert {n["status"] for n in listed["items"]} <= {"skipped", "pending", "sent"}
    assert root_cli.json("notifications", "retry", "--failed") == {"queued": 0}
    code, _, _ = root_cli("notifications", "retry", str(uuid.uuid4()))
    assert code == 5
    code, _, err = root_cli("notifications", "retry")
    assert code == 2
    purged = root_cli.json("notifications", "purge", "--status", "skipped")
    assert purged["deleted"] == len([n for n in listed["items"] if n["status"] == "skipped"])
    assert root_cli.json("notifications", "list", "--status", "skipped")["items"] == []
    rows = audit_rows(admin_server, "notification.purge")
    assert rows[-1]["details"]["deleted"] == purged["deleted"]

    before = root_cli.json("crl", "status")
    rebuilt = root_cli.json("crl", "rebuild")
    assert rebuilt["number"] > (before["number"] or 0)
    after = root_cli.json("crl", "status")
    assert after["number"] == rebuilt["number"] and after["status"] == "ok"


def test_config_gives_the_url(admin_server, admin: AdminClient, tmp_path: Path) -> None:
    """`acmeeh -c CONFIG admin ...` finds the API from the configuration."""
    env = child_env({"ACMEEH_ADMIN_TOKEN": admin.token,
                     "ACMEEH_ADMIN_SESSION": str(tmp_path / "none.json")})
    done = subprocess.run(
        [sys.executable, "-m", "acmeeh", "-c", str(admin_server.config_path), "admin",
         "whoami", "--json"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["username"] == "root"
    assert not os.path.exists(tmp_path / "none.json")


def test_webhooks(root_cli: Cli) -> None:
    code, out, err = root_cli("webhooks", "create", f"http://127.0.0.1:{free_port()}/in",
                              "--event", "account.created", "--event", "order.invalid",
                              "--description", "cli")
    assert code == 0 and "shown only this once" in err
    hook_id = out.split("id:", 1)[1].split()[0]
    secret = out.split("secret:", 1)[1].split()[0]
    code, listed, _ = root_cli("webhooks", "list", "--all")
    assert code == 0 and hook_id in listed and secret not in listed
    shown = root_cli.json("webhooks", "show", hook_id)
    assert shown["events"] == ["account.created", "order.invalid"]
    paused = root_cli.json("webhooks", "update", hook_id, "--disable", "--event",
                           "certificate.issued")
    assert paused["enabled"] is False and paused["events"] == ["certificate.issued"]
    code, _, err = root_cli("webhooks", "update", hook_id, "--target",
                            "http://169.254.169.254/")
    assert code == 7 and "not allowed" in err
    assert root_cli.json("webhooks", "deliveries", "--webhook", hook_id)["items"] == []
    code, out, _ = root_cli("webhooks", "delete", hook_id)
    assert code == 0 and "deleted" in out
    assert root_cli("webhooks", "show", hook_id)[0] == 5
    assert root_cli("webhooks", "delivery", str(uuid.uuid4()))[0] == 5


def test_profile_restrictions(root_cli: Cli, issued: dict) -> None:
    account_id = issued["account_id"]
    shown = root_cli.json("accounts", "restrict", account_id, "--profile", "tlsclient",
                          "--profile", "shortlived")
    assert shown["profiles"] == ["tlsclient", "shortlived"]
    code, out, _ = root_cli("accounts", "profiles", account_id)
    assert code == 0 and "tlsclient, shortlived" in out
    assert root_cli.json("accounts", "restrict", account_id, "--any")["profiles"] is None
    code, _, err = root_cli("accounts", "restrict", account_id)
    assert code == 2 and "--profile NAME" in err
    kid = root_cli.json("eab", "create")["kid"]
    assert root_cli.json("eab", "restrict", kid, "--profile", "tlsclient")["scope"] == "eab"
    code, out, _ = root_cli("eab", "profiles", kid)
    assert code == 0 and "tlsclient" in out
    code, _, _ = root_cli("eab", "restrict", kid, "--profile", "gold")
    assert code == 7
