"""Fixtures of the operations tests: an app built in-process by create_app on a real, migrated
database (no background loops). Helpers live in opstools.py."""
from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from support.database import fresh_database, server_url
from support.server import deep_merge, worker_id

from acmeeh.app import create_app
from acmeeh.config.load import settings_from_dict
from acmeeh.issuance import generate_dev_ca
from acmeeh.store import migrate

_n = itertools.count()


def database_name(tag: str) -> str:
    """Unique per xdist worker, per process and per call."""
    return f"acmeeh_ops_{tag}_{worker_id()}_{os.getpid()}_{next(_n)}"


@pytest.fixture(scope="module")
def ops_db() -> Iterator[str]:
    """A fresh, migrated database for the module; dropped afterwards."""
    name = database_name("m")
    url = fresh_database(name)
    with psycopg.connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
    yield url
    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def dev_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return generate_dev_ca(tmp_path_factory.mktemp("ops_ca"))


def app_settings(db_url: str, ca: tuple[Path, Path], overrides: dict | None = None) -> Any:
    base = {
        "server": {"external_url": "http://127.0.0.1:1"},
        "database": {"url": db_url, "max_connections": 3, "connect_timeout": 2},
        "ca": {"certificate": str(ca[0]), "key": str(ca[1])},
        "challenges": {"dns01": {"resolvers": ["127.0.0.1:9"], "timeout_seconds": 1}},
    }
    return settings_from_dict(deep_merge(base, overrides or {}))


@pytest.fixture
def make_app(ops_db: str, dev_ca: tuple[Path, Path]) -> Iterator[Callable[..., Flask]]:
    """make_app(overrides=None) → a Flask app from create_app (no background loops); every
    app's runtime is shut down at teardown."""
    built: list[Flask] = []

    def build(overrides: dict | None = None) -> Flask:
        app = create_app(app_settings(ops_db, dev_ca, overrides), start_workers=False)
        built.append(app)
        return app

    yield build
    for app in built:
        app.extensions["acmeeh.runtime"].shutdown(timeout=1)
