"""The revocation announcements of migration 0016, heard on one dedicated connection.

Triggers send the serial of every stored certificate whose revocation state changes (or that is
deleted) on channel `acmeeh_revocations`, when the writing transaction commits. A listener
holds its own autocommit connection: LISTEN needs a session of its own, which a pooled
connection is not, and which a transaction-pooling proxy does not keep (so a listener proves
that it hears, by a ping to itself, before anyone trusts it; see workers.revocation_listener).
"""
from __future__ import annotations

import psycopg

# The channel is acmeeh_revocations (named in these statements and in migration 0016).
# A ping's payload starts with this; serials are lowercase hex, so they never do.
PING_PREFIX = "ping:"

LISTEN = "LISTEN acmeeh_revocations"
PING = "SELECT pg_notify('acmeeh_revocations', %(payload)s)"


class RevocationFeed:
    """One LISTENing connection. Not thread-safe: one thread owns it."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self._conn = conn

    @classmethod
    def open(cls, conninfo: str, *, connect_timeout: int) -> RevocationFeed:
        """Connect and LISTEN; psycopg.Error when the database cannot be reached."""
        conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=connect_timeout,
                               prepare_threshold=None)
        try:
            conn.execute(LISTEN)
        except BaseException:
            conn.close()
            raise
        return cls(conn)

    def ping(self, token: str) -> None:
        """Announce `PING_PREFIX + token` on the channel: this connection hears it back (as
        every listener does) once the path through the server works."""
        self._conn.execute(PING, {"payload": PING_PREFIX + token})

    def receive(self, timeout: float) -> list[str]:
        """The payloads heard within `timeout` seconds (returns as soon as some arrived);
        psycopg.Error when the connection is lost."""
        heard: list[str] = []
        for note in self._conn.notifies(timeout=timeout, stop_after=1):
            heard.append(note.payload)
        # What arrived together with the first one, without waiting again.
        for note in self._conn.notifies(timeout=0):
            heard.append(note.payload)
        return heard

    def close(self) -> None:
        self._conn.close()
