"""Revocation states of stored certificates kept in memory, trusted only while they are heard.

The OCSP responder reads a certificate's revocation state from the database per request unless
this process is `live`: a listener (workers.revocation_listener) holds a LISTEN connection that
hears every change of a stored certificate's revocation state, on any instance (triggers of
migration 0016), and has proved by a ping to itself that it hears. While live, a state read once
is answered from memory until an announcement names its serial. When the listener loses its
connection or its pings stop coming back, everything is forgotten and reads go back to the
database until it is live again.

Only stored certificates are kept: an issuance intent (a serial signed but whose certificate row
is not stored) changes without an announcement, and an unknown serial may become known.

A read that raced an announcement must not put back what it read before the change: `ticket()`
is taken before the read and `put` is refused once anything was forgotten since.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from ..issuance.ocsp import CertState


class StateCache:
    """Serial (lowercase hex) → CertState, bounded (least recently used evicted)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._states: OrderedDict[str, CertState] = OrderedDict()
        self._lock = threading.Lock()
        self._generation = 0
        self._live = False

    @property
    def live(self) -> bool:
        return self._live

    def get(self, serial: str) -> CertState | None:
        """The remembered state of `serial`, or None (not remembered, or not live)."""
        if not self._live:
            return None
        with self._lock:
            state = self._states.get(serial)
            if state is not None:
                self._states.move_to_end(serial)
            return state

    def ticket(self) -> int:
        """Take before reading a state from the database; give it to `put`."""
        return self._generation

    def put(self, serial: str, state: CertState, ticket: int) -> None:
        """Remember `state`, read after `ticket()`, unless something was forgotten since."""
        with self._lock:
            if not self._live or ticket != self._generation:
                return
            self._states[serial] = state
            self._states.move_to_end(serial)
            while len(self._states) > self._size:  # bounded by the size check
                self._states.popitem(last=False)

    def forget(self, serial: str) -> None:
        """An announcement: `serial`'s state changed (or it was deleted)."""
        with self._lock:
            self._generation += 1
            self._states.pop(serial, None)

    def go_live(self) -> None:
        """The listener hears (again): start from nothing, as announcements may have been
        missed while it did not."""
        with self._lock:
            self._generation += 1
            self._states.clear()
            self._live = True

    def go_dark(self) -> None:
        """The listener may miss announcements from now on: forget all, read the database."""
        with self._lock:
            self._generation += 1
            self._live = False
            self._states.clear()

    def __len__(self) -> int:
        return len(self._states)
