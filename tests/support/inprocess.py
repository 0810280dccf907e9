"""Apps built by create_app on a real, migrated database and served in process (support.wsgi):
no gunicorn, no socket. The runtime starts without the background loops, so validations run on
the runner's threads as in production; challenges.auto_accept stands in for the network check
(validation/ has its own tests). Used by the web tier's tests and by every other test that needs
no real server."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from support.database import migrated_database
from support.server import deep_merge
from support.wsgi import BASE_URL

from acmeeh import runtime
from acmeeh.app import AcmeehApp, create_app
from acmeeh.config import Settings
from acmeeh.config.load import settings_from_dict
from acmeeh.issuance import generate_dev_ca


def app_settings(url: str, ca: dict, overrides: dict | None = None) -> Settings:
    """The in-process settings, `overrides` merged in (section by section, key by key)."""
    return settings_from_dict(deep_merge({
        "server": {"external_url": BASE_URL},
        "database": {"url": url, "max_connections": 4, "connect_timeout": 2},
        "ca": ca,
        "challenges": {"auto_accept": True,
                       "dns01": {"resolvers": ["127.0.0.1:9"], "timeout_seconds": 1}},
        "security": {"identifiers": {"allowed_suffixes": ["localhost"],
                                     "ip_addresses": False}},
    }, overrides or {}))


def started_app(url: str, ca: dict, overrides: dict | None = None) -> AcmeehApp:
    """An app of app_settings, its runtime started without the background loops."""
    app = create_app(app_settings(url, ca, overrides))
    runtime.start(app, loops=False)
    return app


def dev_ca_settings(directory: Path) -> dict:
    """ca: settings of a new development CA made in `directory`."""
    return generate_dev_ca(directory).ca_settings()


@contextmanager
def app_on_new_database(ca_dir: Path, tag: str, overrides: dict | None = None
                        ) -> Iterator[tuple[AcmeehApp, str]]:
    """(app, database URL): a started app of app_settings + `overrides`, a new dev CA made in
    `ca_dir`, on a database of its own; shut down and dropped when the block ends."""
    with migrated_database(tag) as url:
        app = started_app(url, dev_ca_settings(ca_dir), overrides)
        try:
            yield app, url
        finally:
            app.runtime.shutdown(timeout=1)


@contextmanager
def apps_on_one_database(ca_dir: Path, tag: str) -> Iterator[Callable[..., AcmeehApp]]:
    """build(overrides=None) → a started app of app_settings + `overrides`; every app built
    shares one new dev CA (made in `ca_dir`) and one migrated database; all are shut down and
    the database dropped when the block ends."""
    ca = dev_ca_settings(ca_dir)
    started: list[AcmeehApp] = []
    with migrated_database(tag) as url:

        def build(overrides: dict | None = None) -> AcmeehApp:
            started.append(started_app(url, ca, overrides))
            return started[-1]

        try:
            yield build
        finally:
            for app in started:
                app.runtime.shutdown(timeout=1)
