"""Fixtures of the admin API tests: one server with the admin API per xdist worker (gunicorn,
for what needs a real server: certbot, the CLI in a subprocess, the background loops), the same
API served in process (inproc_*: everything else), and each one's bootstrap admin (created
with the CLI) and auditor."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from admin_support import AdminClient, ServedApp, admin_overrides, create_user
from support.dns import ZoneServer
from support.inprocess import app_on_new_database
from support.server import RunningServer, start_server


def _overrides() -> dict[str, Any]:
    """Lockout after 3 failures. Every test logs in from 127.0.0.1: the per-address throttle is
    out of the way here and has its own tests (test_login_throttle.py). Webhooks may reach
    loopback and retry every half second, three attempts at most."""
    overrides = admin_overrides(max_failed_logins=3, lockout_seconds=60, max_page_size=50,
                                login_failures_per_address=100000)
    overrides["webhooks"] = {"allowed_networks": ["127.0.0.0/8"], "delivery_interval_seconds": 0.2,
                             "retry_delay_seconds": 0.5, "retry_backoff_multiplier": 1.0,
                             "max_attempts": 3, "timeout_seconds": 5}
    return overrides


@pytest.fixture(scope="session")
def admin_server(
    tmp_path_factory: pytest.TempPathFactory, dns_server: ZoneServer
) -> Iterator[RunningServer]:
    """A server (gunicorn, 2 workers) with the admin API on /api (settings: _overrides)."""
    server = start_server(tmp_path_factory.mktemp("admin_server"), dns=dns_server,
                          overrides=_overrides())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def root_password(admin_server: RunningServer) -> str:
    return create_user(admin_server, "root", "admin")


@pytest.fixture(scope="session")
def auditor_password(admin_server: RunningServer) -> str:
    return create_user(admin_server, "watcher", "auditor")


@pytest.fixture
def anon(admin_server: RunningServer) -> AdminClient:
    return AdminClient(admin_server)


@pytest.fixture
def admin(admin_server: RunningServer, root_password: str) -> AdminClient:
    """The bootstrap admin, freshly logged in."""
    return AdminClient(admin_server).as_user("root", root_password)


@pytest.fixture
def auditor(admin_server: RunningServer, auditor_password: str) -> AdminClient:
    return AdminClient(admin_server).as_user("watcher", auditor_password)


@pytest.fixture(scope="session")
def inproc_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    """The admin API (settings: _overrides) of an app served in process, without its
    background loops, on a database of its own."""
    with app_on_new_database(tmp_path_factory.mktemp("admin_app"), "admin",
                             _overrides()) as (app, url):
        yield ServedApp(app, url)


@pytest.fixture(scope="session")
def inproc_passwords(inproc_app: ServedApp) -> dict[str, str]:
    return {"root": create_user(inproc_app, "root", "admin"),
            "watcher": create_user(inproc_app, "watcher", "auditor")}


@pytest.fixture
def inproc_admin(inproc_app: ServedApp, inproc_passwords: dict[str, str]) -> AdminClient:
    """The in-process app's bootstrap admin, freshly logged in."""
    return AdminClient(inproc_app).as_user("root", inproc_passwords["root"])


@pytest.fixture
def inproc_auditor(inproc_app: ServedApp, inproc_passwords: dict[str, str]) -> AdminClient:
    return AdminClient(inproc_app).as_user("watcher", inproc_passwords["watcher"])
