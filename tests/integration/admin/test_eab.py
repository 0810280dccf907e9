"""External account binding (RFC 8555 §7.3.4): keys from the admin API, required by
newAccount, used once; end to end with certbot and lego."""
from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from admin_support import AdminClient, admin_overrides, create_user, eab_binding, problem
from cryptography.hazmat.primitives.asymmetric import ec
from support.acme_client import ERROR_PREFIX, AcmeClient, problem_type
from support.certbot import Certbot, dns_names
from support.server import RunningServer, deep_merge, start_server

LEGO_TIMEOUT = 120


@pytest.fixture(scope="module")
def eab_server(tmp_path_factory, dns_server) -> Iterator[RunningServer]:
    overrides = deep_merge(admin_overrides(), {"acme": {"external_account_required": True}})
    server = start_server(tmp_path_factory.mktemp("eab_server"), dns=dns_server,
                          overrides=overrides)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def eab_admin(eab_server: RunningServer) -> AdminClient:
    return AdminClient(eab_server).as_user("root", create_user(eab_server, "root"))


def new_key(admin: AdminClient, label: str = "test") -> tuple[str, str]:
    resp = admin.post("/eab", {"label": label})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["status"] == "unused" and len(body["hmac_key"]) == 43  # 32 bytes, base64url
    return body["kid"], body["hmac_key"]


def register(server: RunningServer, binding_for=None, **extra) -> tuple[AcmeClient, object]:
    client = AcmeClient(server.directory_url)
    if binding_for is not None:
        extra["externalAccountBinding"] = binding_for(client)
    return client, client.new_account(contact=["mailto:eab@example.com"], **extra)


def test_directory_says_eab_required(eab_server: RunningServer) -> None:
    assert AcmeClient(eab_server.directory_url).directory["meta"]["externalAccountRequired"]


def test_new_account_with_eab_binds_the_key(eab_server, eab_admin: AdminClient) -> None:
    kid, key = new_key(eab_admin)
    client, resp = register(eab_server, lambda c: eab_binding(c.key, kid, key, c.url("newAccount")))
    assert resp.status_code == 201, resp.text
    account_id = client.kid.rsplit("/", 1)[1]
    shown = eab_admin.get(f"/eab/{kid}").json()
    assert shown["status"] == "used" and shown["account_id"] == account_id
    assert "hmac_key" not in shown
    listed = eab_admin.get("/accounts", params={"eab_kid": kid}).json()["items"]
    assert [a["id"] for a in listed] == [account_id]
    # The same key again: the existing account, no new binding needed (RFC 8555 §7.3.1).
    assert client.new_account(only_return_existing=True).status_code == 200
    # A second account cannot reuse the key.
    _, again = register(eab_server, lambda c: eab_binding(c.key, kid, key, c.url("newAccount")))
    assert problem_type(again) == ERROR_PREFIX + "unauthorized"


def _other_key_payload(c: AcmeClient, kid: str, key: str) -> dict:
    return eab_binding(ec.generate_private_key(ec.SECP256R1()), kid, key, c.url("newAccount"))


@pytest.mark.parametrize(("make", "error"), [
    (None, "externalAccountRequired"),
    (lambda c, kid, key: eab_binding(c.key, "kid-unknown", key, c.url("newAccount")), "unauthorized"),
    (lambda c, kid, key: eab_binding(c.key, kid, "A" * 43, c.url("newAccount")), "unauthorized"),
    (lambda c, kid, key: eab_binding(c.key, kid, key, c.url("newOrder")), "malformed"),
    (_other_key_payload, "malformed"),
    (lambda c, kid, key: eab_binding(c.key, kid, key, c.url("newAccount"), alg="HS512"), None),
    (lambda c, kid, key: {"protected": "e30", "payload": "", "signature": ""}, "malformed"),
], ids=["missing", "unknown-kid", "bad-mac", "wrong-url", "other-account-key", "hs512",
        "garbage"])
def test_bad_bindings(eab_server, eab_admin: AdminClient, make, error: str | None) -> None:
    kid, key = new_key(eab_admin)
    binding_for = None if make is None else (lambda c: make(c, kid, key))
    _, resp = register(eab_server, binding_for)
    if error is None:
        assert resp.status_code == 201, resp.text
        return
    assert problem_type(resp) == ERROR_PREFIX + error, resp.text
    assert eab_admin.get(f"/eab/{kid}").json()["status"] == "unused"  # nothing was bound


def test_revoked_key_is_refused(eab_server, eab_admin: AdminClient) -> None:
    kid, key = new_key(eab_admin)
    revoked = eab_admin.post(f"/eab/{kid}/revoke")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    problem(eab_admin.post(f"/eab/{kid}/revoke"), 409)
    problem(eab_admin.post("/eab/kid-nonexistent/revoke"), 404)
    _, resp = register(eab_server, lambda c: eab_binding(c.key, kid, key, c.url("newAccount")))
    assert problem_type(resp) == ERROR_PREFIX + "unauthorized"


def test_eab_list_never_shows_hmac_keys(eab_admin: AdminClient) -> None:
    kid, key = new_key(eab_admin, "listing")
    pages = list(eab_admin.pages("/eab", {"limit": "2"}))
    text = str(pages)
    assert kid in text and key not in text and "hmac" not in text
    unused = [k["kid"] for p in eab_admin.pages("/eab", {"status": "unused"}) for k in p["items"]]
    assert kid in unused
    problem(eab_admin.post("/eab", {"label": "x" * 201}), 400)
    problem(eab_admin.post("/eab", {"hmac_key": "mine"}), 400)


def test_certbot_with_eab(eab_server, eab_admin: AdminClient, tmp_path: Path) -> None:
    kid, key = new_key(eab_admin, "certbot")
    certbot = Certbot(eab_server, tmp_path / "certbot")
    refused = certbot.certonly_standalone("no-eab.localhost", check=False)
    # certbot reads meta.externalAccountRequired and refuses before registering.
    assert refused.returncode != 0, certbot.describe(refused)
    assert "external account binding" in refused.stdout + refused.stderr
    certbot = Certbot(eab_server, tmp_path / "certbot2")
    certbot.certonly_standalone("eab-certbot.localhost",
                                extra=(f"--eab-kid={kid}", f"--eab-hmac-key={key}"))
    assert dns_names(certbot.certificate("eab-certbot.localhost")) == {"eab-certbot.localhost"}
    assert eab_admin.get(f"/eab/{kid}").json()["status"] == "used"


def test_lego_with_eab(eab_server, eab_admin: AdminClient, lego_bin: str, tmp_path: Path) -> None:
    kid, key = new_key(eab_admin, "lego")
    domain = f"eab-lego-{uuid.uuid4().hex[:6]}.localhost"
    command = [lego_bin, "--server", eab_server.directory_url, "--email", "lego@example.com",
               "--accept-tos", "--path", str(tmp_path / "lego"), "--eab", f"--kid={kid}",
               f"--hmac={key}", "--http", "--http.port", f"127.0.0.1:{eab_server.http01_port}",
               "-d", domain, "run"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=LEGO_TIMEOUT,
                          stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{eab_server.log_tail(3000)}"
    assert (tmp_path / "lego" / "certificates" / f"{domain}.crt").exists()
    shown = eab_admin.get(f"/eab/{kid}").json()
    assert shown["status"] == "used"
    account = eab_admin.get(f"/accounts/{shown['account_id']}").json()
    assert account["eab_kid"] == kid and account["contact"] == ["mailto:lego@example.com"]
