"""Fixtures of the admin API tests: one server with the admin API per xdist worker, its
bootstrap admin (created with the CLI) and an auditor."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from admin_support import AdminClient, admin_overrides, create_user
from support.dns import ZoneServer
from support.server import RunningServer, start_server


@pytest.fixture(scope="session")
def admin_server(
    tmp_path_factory: pytest.TempPathFactory, dns_server: ZoneServer
) -> Iterator[RunningServer]:
    """A server (gunicorn, 2 workers) with the admin API on /api; lockout after 3 failures.
    Every test logs in from 127.0.0.1: the per-address throttle is out of the way here and
    has its own tests (test_login_throttle.py). Webhooks may reach loopback and retry every
    half second, three attempts at most."""
    overrides = admin_overrides(max_failed_logins=3, lockout_seconds=60, max_page_size=50,
                                login_failures_per_address=100000)
    overrides["webhooks"] = {"allowed_networks": ["127.0.0.0/8"], "delivery_interval_seconds": 0.2,
                             "retry_delay_seconds": 0.5, "retry_backoff_multiplier": 1.0,
                             "max_attempts": 3, "timeout_seconds": 5}
    server = start_server(tmp_path_factory.mktemp("admin_server"), dns=dns_server,
                          overrides=overrides)
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
