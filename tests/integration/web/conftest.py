"""The web tier: an app built by create_app on a real, migrated database, driven through
Flask's test client (support.wsgi), with no gunicorn and no socket. The runtime is started
without the background loops, so validations run on the runner's threads as in production;
challenges.auto_accept stands in for the network check (validation/ has its own tests)."""
from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from support.acme_client import AcmeClient
from support.database import migrated_database
from support.wsgi import BASE_URL, in_process_session

from acmeeh import runtime
from acmeeh.app import AcmeehApp, create_app
from acmeeh.config.load import settings_from_dict
from acmeeh.issuance import generate_dev_ca

DIRECTORY = f"{BASE_URL}/acme/directory"


@pytest.fixture(scope="module")
def web_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AcmeehApp]:
    ca = generate_dev_ca(tmp_path_factory.mktemp("web_ca"))
    with migrated_database("web") as url:
        settings = settings_from_dict({
            "server": {"external_url": BASE_URL},
            "database": {"url": url, "max_connections": 4, "connect_timeout": 2},
            "ca": ca.ca_settings(),
            "challenges": {"auto_accept": True,
                           "dns01": {"resolvers": ["127.0.0.1:9"], "timeout_seconds": 1}},
            "security": {"identifiers": {"allowed_suffixes": ["localhost"],
                                         "ip_addresses": False}},
        })
        app = create_app(settings)
        runtime.start(app, loops=False)
        try:
            yield app
        finally:
            app.runtime.shutdown(timeout=1)


@pytest.fixture
def client_for(web_app: AcmeehApp) -> Callable[[], AcmeClient]:
    """client_for() → a new ACME account's client (a fresh key) served in process."""
    return lambda: AcmeClient(DIRECTORY, session=in_process_session(web_app, BASE_URL))
