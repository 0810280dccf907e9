"""One server for the issue 11 tests ("never issue what policy forbids"), per xdist worker.

It names an issuer domain for CAA (so CAA is checked against the loopback DNS server), has
forbidden names written the loose ways operators write them, an ip allow-list that admits
127.0.0.0/8 but not ::1, and the admin API for blocked keys and revocation.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from integration.admin.admin_support import AdminClient, create_user
from psycopg_pool import ConnectionPool
from support.acme_client import Http01Responder
from support.database import migrated_database
from support.dns import ZoneServer
from support.server import RunningServer, deep_merge, start_server
from support.store_env import autocommit_pool, settings_for
from trust_support import TRUST_OVERRIDES

from acmeeh.authority.env import Env
from acmeeh.issuance import generate_dev_ca, load_backend
from acmeeh.validation import NetworkValidator

@pytest.fixture(scope="session")
def trust_server(tmp_path_factory: pytest.TempPathFactory,
                 dns_server: ZoneServer) -> Iterator[RunningServer]:
    with start_server(tmp_path_factory.mktemp("trust_server"), dns=dns_server,
                      overrides=TRUST_OVERRIDES) as server:
        yield server


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


# --- the authority called in-process on its own migrated database ------------------------


@pytest.fixture(scope="module")
def trust_db() -> Iterator[str]:
    with migrated_database("trust") as url:
        yield url


@pytest.fixture(scope="module")
def trust_pool(trust_db: str) -> Iterator[ConnectionPool]:
    with autocommit_pool(trust_db, max_size=4) as pool:
        yield pool


@pytest.fixture(scope="module")
def trust_ca(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return generate_dev_ca(tmp_path_factory.mktemp("trust_ca")).ca_settings()


@pytest.fixture
def authority(trust_db: str, trust_pool: ConnectionPool, trust_ca: dict[str, str]):
    """authority(overrides=None) → an Env on the module database, wired as create_app wires it
    (a real CA and validator), in trusted-network mode for names under .localhost and
    addresses in 10.0.0.0/8, so a test drives whole orders without a client."""

    def build(overrides: dict | None = None) -> Env:
        settings = settings_for(trust_db, deep_merge(AUTHORITY_BASE, {"ca": trust_ca, **(overrides or {})}))
        return Env(settings=settings, pool=trust_pool, ca=load_backend(settings.ca),
                   validator=NetworkValidator(settings.challenges), dispatch=lambda _id: None,
                   account_url=lambda account_id: f"http://127.0.0.1:1/acme/account/{account_id}")

    return build


AUTHORITY_BASE = {
    "challenges": {"auto_accept": True},
    "security": {"identifiers": {"allowed_suffixes": ["localhost"],
                                 "allowed_networks": ["10.0.0.0/8"]}},
}
