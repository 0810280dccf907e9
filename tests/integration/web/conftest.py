"""The web tier: an app built by create_app on a real, migrated database, driven through
Flask's test client (support.wsgi), with no gunicorn and no socket. The runtime is started
without the background loops, so validations run on the runner's threads as in production;
challenges.auto_accept stands in for the network check (validation/ has its own tests)."""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from support.acme_client import AcmeClient, expect, make_csr
from support.database import migrated_database
from support.server import deep_merge
from support.wsgi import BASE_URL, DIRECTORY, in_process_session

from acmeeh import runtime
from acmeeh.app import AcmeehApp, create_app
from acmeeh.config import Settings
from acmeeh.config.load import settings_from_dict
from acmeeh.issuance import generate_dev_ca

def _settings(url: str, ca: dict, overrides: dict | None = None) -> Settings:
    """The web tier's settings, `overrides` merged in (section by section, key by key)."""
    return settings_from_dict(deep_merge({
        "server": {"external_url": BASE_URL},
        "database": {"url": url, "max_connections": 4, "connect_timeout": 2},
        "ca": ca,
        "challenges": {"auto_accept": True,
                       "dns01": {"resolvers": ["127.0.0.1:9"], "timeout_seconds": 1}},
        "security": {"identifiers": {"allowed_suffixes": ["localhost"],
                                     "ip_addresses": False}},
    }, overrides or {}))


def _started(url: str, ca: dict, overrides: dict | None = None) -> AcmeehApp:
    app = create_app(_settings(url, ca, overrides))
    runtime.start(app, loops=False)
    return app


@contextmanager
def web_app_with(tmp_path_factory: pytest.TempPathFactory, **sections: dict) -> Iterator[AcmeehApp]:
    """An app of the settings above, each section updated by `sections`, on a database of its
    own (a module that needs other settings overrides the web_app fixture with it)."""
    ca = generate_dev_ca(tmp_path_factory.mktemp("web_ca")).ca_settings()
    with migrated_database("web") as url:
        app = _started(url, ca, sections)
        try:
            yield app
        finally:
            app.runtime.shutdown(timeout=1)


@pytest.fixture(scope="module")
def web_apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., AcmeehApp]]:
    """web_apps(overrides=None) → an app built by create_app and started (without the
    background loops) on the module's one migrated database, its settings changed by
    `overrides` (a case that needs other settings next to the default app); every app is shut
    down when the module ends."""
    ca = generate_dev_ca(tmp_path_factory.mktemp("web_ca")).ca_settings()
    started: list[AcmeehApp] = []
    with migrated_database("web") as url:

        def build(overrides: dict | None = None) -> AcmeehApp:
            started.append(_started(url, ca, overrides))
            return started[-1]

        try:
            yield build
        finally:
            for app in started:
                app.runtime.shutdown(timeout=1)


@pytest.fixture(scope="module")
def web_app(web_apps: Callable[..., AcmeehApp]) -> AcmeehApp:
    """The module's app with the default test settings."""
    return web_apps()


@pytest.fixture(scope="module")
def client_for(web_app: AcmeehApp) -> Callable[[], AcmeClient]:
    """client_for() → a new ACME account's client (a fresh key) served in process."""
    return lambda: AcmeClient(DIRECTORY, session=in_process_session(web_app, BASE_URL))


@dataclass(frozen=True)
class Issued:
    client: AcmeClient
    order: dict  # the final order object (status valid)
    chain: str  # the PEM chain downloaded from order["certificate"]

    @property
    def certificate_id(self) -> uuid.UUID:
        return uuid.UUID(self.order["certificate"].rsplit("/", 1)[1])


@dataclass(frozen=True)
class Ready:
    order: dict  # the order object, status ready
    url: str  # the order's URL
    name: str  # the one dns name it is for


def ready_in(client: AcmeClient) -> Ready:
    """An order for a fresh name, validated and ready to finalize, by a new account of
    `client` (a fresh AcmeClient)."""
    expect(client.new_account(contact=["mailto:web@example.com"]), 201)
    name = f"w-{uuid.uuid4().hex[:8]}.localhost"
    order = expect(client.new_order([name]), 201)
    authz_url = order.json()["authorizations"][0]
    challenge = expect(client.post(authz_url), 200).json()["challenges"][0]
    expect(client.respond(challenge["url"]), 200)
    assert client.poll(authz_url, timeout=10).json()["status"] == "valid"
    url = order.headers["Location"]
    return Ready(client.poll(url, until=("ready",), timeout=10).json(), url, name)


def issue_in(client: AcmeClient) -> Issued:
    """A certificate for a fresh name through the whole RFC 8555 flow (see ready_in)."""
    ready = ready_in(client)
    expect(client.finalize(ready.order, make_csr([ready.name])[0]), 200)
    done = client.poll(ready.url, timeout=10).json()
    assert done["status"] == "valid", done
    chain = expect(client.download(done["certificate"]), 200)
    return Issued(client, done, chain.text)


@pytest.fixture
def issue(client_for: Callable[[], AcmeClient]) -> Callable[[], Issued]:
    """issue() → a certificate for a fresh name, through the whole RFC 8555 flow in process."""
    return lambda: issue_in(client_for())
