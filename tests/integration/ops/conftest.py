"""Fixtures of the operations tests: an app built in-process by create_app on a real, migrated
database (no background loops). Helpers live in opstools.py."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from support.database import migrated_database
from support.server import deep_merge

from acmeeh.app import create_app
from acmeeh.config.load import settings_from_dict
from acmeeh.issuance import DevCA, generate_dev_ca


@pytest.fixture(scope="module")
def ops_db() -> Iterator[str]:
    """A fresh, migrated database for the module; dropped afterwards."""
    with migrated_database("ops") as url:
        yield url


@pytest.fixture(scope="module")
def dev_ca(tmp_path_factory: pytest.TempPathFactory) -> DevCA:
    return generate_dev_ca(tmp_path_factory.mktemp("ops_ca"))


def app_settings(db_url: str, ca: DevCA, overrides: dict | None = None) -> Any:
    base = {
        "server": {"external_url": "http://127.0.0.1:1"},
        "database": {"url": db_url, "max_connections": 3, "connect_timeout": 2},
        "ca": ca.ca_settings(),
        "challenges": {"dns01": {"resolvers": ["127.0.0.1:9"], "timeout_seconds": 1}},
    }
    return settings_from_dict(deep_merge(base, overrides or {}))


@pytest.fixture
def make_app(ops_db: str, dev_ca: DevCA) -> Iterator[Callable[..., Flask]]:
    """make_app(overrides=None) → a Flask app from create_app (no background loops); every
    app's runtime is shut down at teardown."""
    built: list[Flask] = []

    def build(overrides: dict | None = None) -> Flask:
        app = create_app(app_settings(ops_db, dev_ca, overrides))  # not started: no loops
        built.append(app)
        return app

    yield build
    for app in built:
        app.runtime.shutdown(timeout=1)
