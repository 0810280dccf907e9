"""Admin logins are throttled per client address (429 with Retry-After, before any password
is checked) as well as locked per user, so one address cannot lock out every admin; bearer
tokens that fail are audited, the audit writes themselves within a per-process budget.

One server behind a "proxy" (127.0.0.1 trusted), so X-Forwarded-For names the client."""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from admin_support import AdminClient, admin_overrides, audit_rows, create_user, problem
from support.server import RunningServer, deep_merge, start_server

MAX_FAILED_LOGINS = 3
FAILURES_PER_ADDRESS = 4
WINDOW_SECONDS = 600
AUDITS_PER_MINUTE = 5
ADMINS = ("ada", "bob", "cyd")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, dns_server) -> Iterator[RunningServer]:
    overrides = deep_merge(admin_overrides(
        max_failed_logins=MAX_FAILED_LOGINS, lockout_seconds=600,
        login_failures_per_address=FAILURES_PER_ADDRESS, login_window_seconds=WINDOW_SECONDS,
        failed_auth_audits_per_minute=AUDITS_PER_MINUTE,
    ), {"proxy": {"enabled": True, "trusted_proxies": ["127.0.0.1/32"]}})
    running = start_server(tmp_path_factory.mktemp("throttle_server"), dns=dns_server,
                           overrides=overrides, workers=1)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def passwords(server: RunningServer) -> dict[str, str]:
    return {name: create_user(server, name, "admin") for name in ADMINS}


def login(server: RunningServer, address: str, username: str, password: str):
    return AdminClient(server).request(
        "POST", "/auth/login", json_body={"username": username, "password": password},
        headers={"X-Forwarded-For": address})


def test_one_address_cannot_lock_out_every_admin(server: RunningServer,
                                                 passwords: dict[str, str]) -> None:
    attacker = "192.0.2.10"
    # (who, status): 3 failures lock ada, the 4th hits bob, then the address is throttled
    table = [("ada", 401), ("ada", 401), ("ada", 401), ("bob", 401),
             ("bob", 429), ("cyd", 429), ("cyd", 429)]
    for username, status in table:
        resp = login(server, attacker, username, "wrong password!")
        body = problem(resp, status)
        if status == 429:
            assert body["type"].endswith("tooManyRequests")
            assert 0 < int(resp.headers["Retry-After"]) <= WINDOW_SECONDS
    # Throttled before any password check: even the right password is refused there.
    problem(login(server, attacker, "cyd", passwords["cyd"]), 429)
    # Elsewhere, bob (one failure) and cyd (none) log in; ada is locked (per user).
    assert login(server, "198.51.100.7", "bob", passwords["bob"]).status_code == 200
    assert login(server, "198.51.100.7", "cyd", passwords["cyd"]).status_code == 200
    problem(login(server, "198.51.100.7", "ada", passwords["ada"]), 401)
    throttled = [r for r in audit_rows(server, "auth.login")
                 if r["details"].get("reason") == "address throttled"]
    assert throttled and all(r["outcome"] == "denied" for r in throttled)


def test_successful_logins_do_not_count_against_the_address(
        server: RunningServer, passwords: dict[str, str]) -> None:
    for _ in range(FAILURES_PER_ADDRESS + 2):
        assert login(server, "203.0.113.5", "cyd", passwords["cyd"]).status_code == 200


def test_ipv6_addresses_share_their_slash_64(server: RunningServer) -> None:
    for i in range(FAILURES_PER_ADDRESS):
        problem(login(server, f"2001:db8:1:2::{i + 1}", "nobody", "wrong password!"), 401)
    problem(login(server, "2001:db8:1:2:ffff::9", "nobody", "wrong password!"), 429)
    problem(login(server, "2001:db8:1:3::1", "nobody", "wrong password!"), 401)


def test_failed_bearer_tokens_are_audited_within_a_budget(server: RunningServer) -> None:
    """Each refused token is worth an audit row, but a flood of them writes at most a minute's
    budget; the next row written says how many were left out."""
    before = len(audit_rows(server, "auth.token"))
    client = AdminClient(server)
    tries = AUDITS_PER_MINUTE * 3
    for i in range(tries):
        token = "A" * 42 + "BCDEFGHIJKLMNOPQRS"[i % 18]  # well-formed, not a live token
        problem(client.get("/users/me", token=token), 401)
    problem(client.get("/users/me", headers={"Authorization": "Basic eA=="}), 401)
    problem(client.get("/users/me"), 401)  # no token at all: not a failed token, not audited
    rows = audit_rows(server, "auth.token")[before:]
    assert 1 <= len(rows) <= AUDITS_PER_MINUTE + 1, rows  # +1: the budget refills as we go
    assert all(r["outcome"] == "failure" and r["target"] == "/users/me" for r in rows)
    assert all("A" * 42 not in str(r) for r in rows)  # the token itself is never stored
    # what was left out is counted (one worker: its count is the server's)
    assert suppressed(server, "auth.token") >= tries + 1 - len(rows)


def suppressed(server: RunningServer, action: str) -> float:
    text = requests.get(f"{server.base_url}/metrics", timeout=10).text
    found = re.search(rf'^acmeeh_audit_suppressed_total{{action="{re.escape(action)}"}} (\S+)$',
                      text, re.MULTILINE)
    assert found, text[-2000:]
    return float(found.group(1))
