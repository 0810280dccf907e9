"""Leadership through PostgreSQL session advisory locks, held on a dedicated connection.

Every instance runs every background loop; only the holder of the loop's advisory lock acts.
The lock belongs to the database session: when the holder process dies (or its connection is
cut), PostgreSQL ends the session and releases the lock, and the next `try_acquire` of another
instance succeeds. The connection is opened outside the pool on purpose: a pooled connection
would carry the lock back into the pool. Session-level locks need a real session, so the
database must not sit behind a transaction-pooling proxy (pgbouncer pool_mode=transaction).

One `LockSession` (one connection) may carry the locks of all the loops of a process, so a
gunicorn worker costs one extra connection, not one per loop; each loop has its own
`Leadership` on it.
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
from enum import IntEnum
from typing import Any

import psycopg

log = logging.getLogger("acmeeh.store.locks")


class LockId(IntEnum):
    """Every advisory lock ACMEEH takes, defined once (the operations guide lists them).

    MIGRATIONS is a transaction-level lock (store.migrate); the others are session-level
    locks naming the leader of one background loop (workers.supervisor.LOOPS).
    """

    MIGRATIONS = 712000
    CLEANUP = 712001
    EXPIRATION = 712002
    CHALLENGE = 712003
    CRL = 712004
    NOTIFICATIONS = 712005
    WEBHOOKS = 712007

# The lock is held when pg_locks shows it granted to our backend. A bigint advisory key is
# split into classid (high 32 bits) and objid (low 32 bits), with objsubid = 1.
_HELD = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND objsubid = 1"
    " AND ((classid::bigint << 32) | objid::bigint) = %s"
)


class LockConnectionError(Exception):
    """The lock connection could not be opened or used (database unreachable)."""


class LockSession:
    """A dedicated autocommit connection for advisory locks, shared safely between threads.

    `generation` grows each time a new connection is opened: a lock taken in an earlier
    generation died with its session.
    """

    def __init__(self, conninfo: str, *, name: str = "workers", connect_timeout: int = 5,
                 statement_timeout_ms: int = 5000) -> None:
        self._conninfo = conninfo
        self.name = name
        self._connect_timeout = connect_timeout
        self._statement_timeout_ms = statement_timeout_ms
        self._mutex = threading.Lock()
        self._conn: psycopg.Connection | None = None
        self._closed = False
        self.generation = 0

    @property
    def backend_pid(self) -> int | None:
        """PostgreSQL pid of the session (None when not connected)."""
        conn = self._conn
        return conn.info.backend_pid if conn is not None and not conn.closed else None

    def query(self, sql: str, params: tuple[Any, ...]) -> tuple[int, Any]:
        """(generation, first column of the first row); connects when needed.

        Raises LockConnectionError when the database cannot be reached or the session broke
        (the connection is then dropped and reopened on the next call).
        """
        with self._mutex:
            conn = self._connect()
            try:
                row = conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
            except psycopg.Error as exc:
                self._drop()
                raise LockConnectionError(f"lock session {self.name}: {exc}") from exc
            return self.generation, (row[0] if row else None)

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.closed

    def _connect(self) -> psycopg.Connection:
        if self._closed:
            raise LockConnectionError(f"lock session {self.name} is closed")
        if self._conn is not None and not self._conn.closed:
            return self._conn
        try:
            # Keepalives let a half-open TCP connection be noticed instead of hanging a check;
            # statement_timeout bounds every query on this connection.
            self._conn = psycopg.connect(
                self._conninfo,
                autocommit=True,
                connect_timeout=self._connect_timeout,
                application_name=f"acmeeh-{self.name}-{os.getpid()}"[:63],
                keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3,
                options=f"-c statement_timeout={self._statement_timeout_ms}",
            )
        except psycopg.Error as exc:
            raise LockConnectionError(f"cannot open lock session {self.name}: {exc}") from exc
        self.generation += 1
        return self._conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):  # closing a dead connection may fail
                conn.close()

    def close(self) -> None:
        """Close the connection for good: PostgreSQL releases every lock it held."""
        with self._mutex:
            self._closed = True
            self._drop()


class Leadership:
    """One advisory lock on a LockSession (its own, or one shared with other loops).

    Driven by one thread; `held` and `lock_id` may be read from anywhere.
    """

    def __init__(self, conninfo: str = "", *, name: str = "worker",
                 session: LockSession | None = None) -> None:
        self._owns_session = session is None
        self.session = session or LockSession(conninfo, name=name)
        self.name = name
        self.lock_id: int | None = None
        self.held = False
        self._generation = 0

    @property
    def backend_pid(self) -> int | None:
        return self.session.backend_pid

    def try_acquire(self, lock_id: int) -> bool:
        """Take `lock_id` without waiting (pg_try_advisory_lock); True when our session holds it.

        Raises LockConnectionError when the database cannot be reached.
        """
        if self.held and self.lock_id == lock_id and self.check():
            return True
        if self.held:
            self.release()
        generation, got = self.session.query("SELECT pg_try_advisory_lock(%s)", (lock_id,))
        self.held, self._generation = bool(got), generation
        self.lock_id = lock_id if self.held else None
        return self.held

    def check(self) -> bool:
        """True while the session that took the lock is alive and still holds it."""
        if not self.held:
            return False
        try:
            generation, count = self.session.query(_HELD, (self.lock_id,))
        except LockConnectionError as exc:
            log.warning("leadership of %s lost: %s", self.name, exc)
            generation, count = -1, 0
        if generation != self._generation or not count:
            self.held, self.lock_id = False, None
        return self.held

    def release(self) -> None:
        """Give the lock back (a lock of a dead session is gone already)."""
        if self.held and self.session.connected and self.session.generation == self._generation:
            with contextlib.suppress(LockConnectionError):  # the session died, and the lock with it
                self.session.query("SELECT pg_advisory_unlock(%s)", (self.lock_id,))
        self.held, self.lock_id = False, None

    def close(self) -> None:
        """Release the lock; close the session too when this Leadership opened it."""
        self.release()
        if self._owns_session:
            self.session.close()
