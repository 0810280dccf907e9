"""Helpers for the admin API tests: a small `requests` client (to a running server or to an
app served in process), the CLI, the database."""
from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import io
import json
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from typing import Any

import psycopg
import requests
from support.acme_client import b64, public_jwk
from support.server import ROOT, RunningServer, child_env
from support.wsgi import BASE_URL, DIRECTORY, in_process_session

from acmeeh.app import AcmeehApp
from acmeeh.cli.admin import bootstrap

PROBLEM_JSON = "application/problem+json"
ADMIN_ERROR = "urn:acmeeh:admin:error:"
TIMEOUT = 15


@dataclass(frozen=True)
class ServedApp:
    """An app with the admin API served in process (support.wsgi): what AdminClient and
    audit_rows need of a server, without gunicorn or a socket."""

    app: AcmeehApp
    database_url: str
    base_url: str = BASE_URL
    directory_url: str = DIRECTORY


Server = RunningServer | ServedApp


def admin_overrides(**extra: Any) -> dict[str, Any]:
    """Config overrides that enable the admin API (a fresh 48-character token secret)."""
    admin_api = {"enabled": True, "token_secret": secrets.token_urlsafe(36), **extra}
    return {"admin_api": admin_api}


def run_cli(server: RunningServer, *args: str) -> subprocess.CompletedProcess:
    """`python -m acmeeh -c CONFIG ARGS` against the server's configuration (bounded)."""
    return subprocess.run(
        [sys.executable, "-m", "acmeeh", "-c", str(server.config_path), *args],
        cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL, check=False,
    )


def create_user(server: Server, username: str, role: str = "admin",
                email: str | None = None) -> str:
    """Create a user with the CLI's `admin create-user` (in a subprocess for a running server,
    in this process for a served app); return the password it printed once."""
    email = email or f"{username}@example.com"
    if isinstance(server, ServedApp):
        out = io.StringIO()
        with redirect_stdout(out):
            code = bootstrap.create_user(
                argparse.Namespace(username=username, email=email, role=role),
                server.app.runtime.env.settings)
        stdout = out.getvalue()
        assert code == 0, stdout
    else:
        done = run_cli(server, "admin", "create-user", "--username", username,
                       "--email", email, "--role", role)
        assert done.returncode == 0, done.stdout + done.stderr
        stdout = done.stdout
    found = re.search(r"^password: (\S+)$", stdout, re.MULTILINE)
    assert found, stdout
    return found.group(1)


def db(server: Server) -> psycopg.Connection:
    return psycopg.connect(server.database_url, autocommit=True)


class AdminClient:
    """Requests to {external_url}/api with an optional bearer token."""

    def __init__(self, server: Server, token: str | None = None, base_path: str = "/api"):
        self.server = server
        self.base = server.base_url + base_path
        self.token = token
        if isinstance(server, ServedApp):
            self.session = in_process_session(server.app, server.base_url)
        else:
            self.session = requests.Session()
            self.session.trust_env = False  # loopback only

    def request(self, method: str, path: str, *, json_body: Any = None, raw: bytes | None = None,
                headers: dict[str, str] | None = None, token: str | None = None,
                **kwargs: Any) -> requests.Response:
        send = dict(headers or {})
        bearer = token if token is not None else self.token
        if bearer:
            send.setdefault("Authorization", f"Bearer {bearer}")
        data = raw
        if json_body is not None:
            data = json.dumps(json_body).encode()
            send.setdefault("Content-Type", "application/json")
        url = path if path.startswith("http") else self.base + path
        return self.session.request(method, url, data=data, headers=send, timeout=TIMEOUT,
                                    allow_redirects=False, **kwargs)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.request("POST", path, json_body=body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.request("PATCH", path, json_body=body, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)

    def login(self, username: str, password: str) -> requests.Response:
        resp = self.post("/auth/login", {"username": username, "password": password})
        if resp.status_code == 200:
            self.token = resp.json()["token"]
        return resp

    def as_user(self, username: str, password: str) -> AdminClient:
        other = AdminClient(self.server)
        other.base = self.base
        resp = other.login(username, password)
        assert resp.status_code == 200, resp.text
        return other

    def pages(self, path: str, params: dict[str, Any] | None = None,
              max_pages: int = 100) -> Iterator[dict[str, Any]]:
        """Follow next_cursor (bounded) and yield every page body."""
        params = dict(params or {})
        for _ in range(max_pages):
            resp = self.get(path, params=params)
            assert resp.status_code == 200, resp.text
            page = resp.json()
            yield page
            if not page["next_cursor"]:
                return
            params["cursor"] = page["next_cursor"]
        raise AssertionError(f"{path}: more than {max_pages} pages")


def problem(resp: requests.Response, status: int, type_suffix: str | None = None) -> dict:
    """Assert an RFC 7807 problem with `status` (and type ending in `type_suffix`)."""
    assert resp.status_code == status, f"{resp.status_code} {resp.text[:500]}"
    assert resp.headers["Content-Type"].startswith(PROBLEM_JSON), resp.headers
    body = resp.json()
    assert body["status"] == status and body["title"] and body["detail"], body
    if type_suffix is not None:
        assert body["type"].endswith(type_suffix), body
    return body


def audit_rows(server: Server, action: str) -> list[dict[str, Any]]:
    with db(server) as conn:
        rows = conn.execute(
            "SELECT actor, action, target, outcome, details FROM audit_log WHERE action = %s"
            " ORDER BY created_at", (action,)).fetchall()
    return [dict(zip(("actor", "action", "target", "outcome", "details"), r)) for r in rows]


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def eab_binding(account_key: Any, kid: str, hmac_key_b64: str, url: str,
                alg: str = "HS256") -> dict[str, str]:
    """An external account binding JWS (RFC 8555 §7.3.4): the account's public JWK, MACed
    with the EAB key, protected header {alg, kid, url}."""
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    protected = b64(json.dumps({"alg": alg, "kid": kid, "url": url}).encode())
    payload = b64(json.dumps(public_jwk(account_key)).encode())
    mac = hmac.new(b64url_decode(hmac_key_b64), f"{protected}.{payload}".encode(), digest)
    return {"protected": protected, "payload": payload, "signature": b64(mac.digest())}
