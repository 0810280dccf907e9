"""Each process hears the revocation announcements of every instance and keeps its OCSP
responder's remembered states true (authority.ocsp_states).

Not a leader loop: every serving process runs one, on its own LISTEN connection. It trusts the
connection only after a ping it sent came back, and pings again every HEARTBEAT_SECONDS: a ping
that does not come back within PING_TIMEOUT_SECONDS (a proxy that does not keep the session, a
half-open TCP connection) or any error makes the responder forget every state and read the
database per request, until a new connection has proved itself.
"""
from __future__ import annotations

import logging
import secrets
import time
from typing import Self

from .. import metrics
from ..authority.ocsp_states import StateCache
from ..store import db
from ..store.revocation_feed import PING_PREFIX, RevocationFeed
from .thread import HelperThread

log = logging.getLogger("acmeeh.workers.revocation_listener")

HEARTBEAT_SECONDS = 10.0
PING_TIMEOUT_SECONDS = 2.0
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)  # back-off between connection attempts, then the last
WAIT_SLICE_SECONDS = 0.5  # how long one wait for announcements blocks (bounds stop())


class FeedSilent(Exception):
    """A ping did not come back in time."""


class RevocationListener(HelperThread):
    """Keeps `states` live while announcements are heard on a connection to `conninfo`."""

    name = "revocation-listener"

    def __init__(self, states: StateCache, conninfo: str, *, connect_timeout: int,
                 heartbeat: float = HEARTBEAT_SECONDS) -> None:
        super().__init__()
        self.states = states
        self._connect = (conninfo, connect_timeout)
        self._heartbeat = heartbeat

    def start(self) -> Self:
        _count(hearing=False)  # until a ping came back
        return super().start()

    def stop(self, timeout: float = 2.0) -> None:
        """End the thread within about WAIT_SLICE_SECONDS; idempotent."""
        super().stop(timeout)
        self.states.go_dark()
        for state in ("hearing", "not_hearing"):  # this process no longer counts
            metrics.OCSP_REVOCATION_LISTENERS.labels(state=state).set(0)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._listen()
            except (db.DatabaseError, FeedSilent) as exc:
                log.warning("revocation announcements not heard (%s: %s); OCSP reads each state"
                            " from the database", type(exc).__name__, str(exc).strip()[:200])
            except Exception:  # noqa: BLE001 - never end the thread; the responder reads the database
                log.exception("revocation listener failed")
            failures = 0 if self.states.live else failures + 1  # back off while it never works
            self._dark()
            self._stop.wait(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])

    def _listen(self) -> None:
        """One connection: prove it hears, go live, forget what is announced; returns when
        stopped, raises when the connection fails or a ping is lost."""
        conninfo, connect_timeout = self._connect
        feed = RevocationFeed.open(conninfo, connect_timeout=connect_timeout)
        try:
            self._prove(feed)
            self.states.go_live()
            _count(hearing=True)
            log.info("revocation announcements heard: OCSP answers stored states from memory")
            next_ping = time.monotonic() + self._heartbeat
            while not self._stop.is_set():
                self._forget(feed.receive(WAIT_SLICE_SECONDS))
                if time.monotonic() >= next_ping:
                    self._prove(feed)
                    next_ping = time.monotonic() + self._heartbeat
        finally:
            feed.close()

    def _prove(self, feed: RevocationFeed) -> None:
        """Ping and wait for it to come back, forgetting what arrives meanwhile."""
        token = secrets.token_hex(8)
        feed.ping(token)
        deadline = time.monotonic() + PING_TIMEOUT_SECONDS
        while (left := deadline - time.monotonic()) > 0:  # bounded by the deadline
            heard = feed.receive(left)
            self._forget(heard)
            if PING_PREFIX + token in heard:
                return
        raise FeedSilent(f"no answer to a ping within {PING_TIMEOUT_SECONDS:g} s")

    def _forget(self, payloads: list[str]) -> None:
        for payload in payloads:
            if not payload.startswith(PING_PREFIX):
                self.states.forget(payload)

    def _dark(self) -> None:
        self.states.go_dark()
        _count(hearing=False)


def _count(*, hearing: bool) -> None:
    """This process in acmeeh_ocsp_revocation_listeners."""
    metrics.OCSP_REVOCATION_LISTENERS.labels(state="hearing").set(1 if hearing else 0)
    metrics.OCSP_REVOCATION_LISTENERS.labels(state="not_hearing").set(0 if hearing else 1)
