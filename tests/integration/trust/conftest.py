"""One server for the issue 11 tests ("never issue what policy forbids"), per xdist worker.

It names an issuer domain for CAA (so CAA is checked against the loopback DNS server), has
forbidden names written the loose ways operators write them, an ip allow-list that admits
127.0.0.0/8 but not ::1, and the admin API for blocked keys and revocation.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from integration.admin.admin_support import AdminClient, admin_overrides, create_user
from support.acme_client import Http01Responder
from support.dns import ZoneServer
from support.server import RunningServer, deep_merge, start_server
from trust_support import CAA_DOMAIN

TRUST_OVERRIDES = deep_merge(admin_overrides(), {
    "acme": {"caa_identities": [CAA_DOMAIN]},
    "security": {"identifiers": {
        "forbidden_names": [" Forbidden.Trust.TEST. ", "Bücher.trust.test"],
        "allowed_networks": ["127.0.0.0/8", "10.0.0.0/8"],
        "max_per_order": 5,
    }},
})


@pytest.fixture(scope="session")
def trust_server(tmp_path_factory: pytest.TempPathFactory,
                 dns_server: ZoneServer) -> Iterator[RunningServer]:
    server = start_server(tmp_path_factory.mktemp("trust_server"), dns=dns_server,
                          overrides=TRUST_OVERRIDES)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def trust_http01(trust_server: RunningServer) -> Iterator[Http01Responder]:
    with Http01Responder(trust_server.http01_port) as responder:
        yield responder


@pytest.fixture(scope="session")
def trust_admin_password(trust_server: RunningServer) -> str:
    return create_user(trust_server, "trustroot", "admin")


@pytest.fixture
def trust_admin(trust_server: RunningServer, trust_admin_password: str) -> AdminClient:
    return AdminClient(trust_server).as_user("trustroot", trust_admin_password)
