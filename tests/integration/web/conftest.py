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
from support.inprocess import app_on_new_database, apps_on_one_database
from support.wsgi import BASE_URL, DIRECTORY, in_process_session

from acmeeh.app import AcmeehApp


@contextmanager
def web_app_with(tmp_path_factory: pytest.TempPathFactory, **sections: dict) -> Iterator[AcmeehApp]:
    """An app of the in-process settings, each section updated by `sections`, on a database of
    its own (a module that needs other settings overrides the web_app fixture with it)."""
    with app_on_new_database(tmp_path_factory.mktemp("web_ca"), "web", sections) as (app, _url):
        yield app


@pytest.fixture(scope="module")
def web_apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., AcmeehApp]]:
    """web_apps(overrides=None) → an app built by create_app and started (without the
    background loops) on the module's one migrated database, its settings changed by
    `overrides` (a case that needs other settings next to the default app); every app is shut
    down when the module ends."""
    with apps_on_one_database(tmp_path_factory.mktemp("web_ca"), "web") as build:
        yield build


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
