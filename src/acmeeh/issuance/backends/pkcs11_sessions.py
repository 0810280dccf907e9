"""A bounded pool of PKCS#11 sessions on one token, each with the signing key found in it.

Requests lease a session (at most `size` are open; a request waits up to `wait_seconds` for
one) and give it back, so a session and its key handle serve many signatures. The user logs in
once per application (PKCS#11 v2.40 §5.6): the first session logs in with the PIN; later ones
share that login. No session is closed while the process lives: python-pkcs11 logs the whole
application out when it closes the session that logged in, and a voided session's handle
number may already name a new one.

python-pkcs11 initialises the library with C_Initialize(NULL_PTR), which tells it that no two
threads call it at once (PKCS#11 v2.40 §5.4: the library then needs no locking, and SoftHSM2
takes none). So every call into a library is made under that library's process-wide lock:
signatures through one library are serialised within a process, and throughput grows with the
number of processes (gunicorn workers, each its own PKCS#11 application).

A token reset, a C_CloseAllSessions by another party or a finalised library voids every
session: a signature that fails with a session-level error forgets its session and the idle
ones and is tried once more on a fresh session, initialising the library again when it is no
longer initialised. So the backend reconnects by itself; `state()` reports it for /healthz.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pkcs11
from pkcs11 import Attribute, Mechanism, ObjectClass
from pkcs11.exceptions import (
    DeviceError,
    DeviceRemoved,
    GeneralError,
    MultipleTokensReturned,
    NoSuchToken,
    PinIncorrect,
    PinLocked,
    PKCS11Error,
    SessionClosed,
    SessionHandleInvalid,
    TokenNotPresent,
    TokenNotRecognised,
    UserAlreadyLoggedIn,
    UserNotLoggedIn,
)
from pkcs11.types import PrivateKey, Session, SignMixin, Token

from acmeeh.issuance.keyfiles import CAError

if TYPE_CHECKING:
    from pkcs11._pkcs11 import lib as Library

# Errors after which the session (and, as a reset takes all, every other) is gone.
SESSION_LOST = (SessionHandleInvalid, SessionClosed, DeviceRemoved, DeviceError, TokenNotPresent,
                TokenNotRecognised, UserNotLoggedIn, GeneralError)

# One lock per loaded library, for the whole process, as the library is (see above).
_LIBRARY_LOCKS: dict[str, threading.RLock] = {}
_LOCKS_LOCK = threading.Lock()


def library_lock(module: str) -> threading.RLock:
    """The lock every call into the PKCS#11 library at `module` is made under."""
    with _LOCKS_LOCK:
        return _LIBRARY_LOCKS.setdefault(module, threading.RLock())


@dataclass(frozen=True)
class TokenAddress:
    """Where the key is: the library, the token (label or slot id), the key (label and/or id)."""

    module: str
    token_label: str | None
    slot: int | None
    key_label: str | None
    key_id: bytes | None

    def describe_token(self) -> str:
        return f"token {self.token_label!r}" if self.token_label else f"slot {self.slot}"

    def attributes(self) -> dict[Attribute, object]:
        """The search template of the key (and of its public half and certificate)."""
        found: dict[Attribute, object] = {}
        if self.key_label:
            found[Attribute.LABEL] = self.key_label
        if self.key_id:
            found[Attribute.ID] = self.key_id
        return found

    def describe_key(self) -> str:
        parts = ([f"label {self.key_label!r}"] if self.key_label else []) + (
            [f"id {self.key_id.hex()}"] if self.key_id else [])
        return f"key {' '.join(parts)} on {self.describe_token()}"


@dataclass
class Lease:
    """A session of the pool with the key found in it."""

    session: Session
    key: SignMixin
    generation: int


def load_library(module: str) -> Library:
    """The PKCS#11 library at `module`, initialised; CAError naming ca.pkcs11.module."""
    try:
        with library_lock(module):
            return pkcs11.lib(module)
    except (RuntimeError, OSError, PKCS11Error) as exc:
        raise CAError(f"ca.pkcs11.module: cannot load {module}: {exc or type(exc).__name__}") from None


def find_token(lib: Library, where: TokenAddress) -> Token:
    """The token by label, else by slot id; CAError naming the setting."""
    try:
        if where.token_label:
            return lib.get_token(token_label=where.token_label)
        for slot in lib.get_slots(token_present=True):
            if slot.slot_id == where.slot:
                return slot.get_token()
    except NoSuchToken:
        pass
    except MultipleTokensReturned:
        raise CAError(f"ca.pkcs11.token_label: more than one token labelled "
                      f"{where.token_label!r} in {where.module}") from None
    setting = "ca.pkcs11.token_label" if where.token_label else "ca.pkcs11.slot"
    raise CAError(f"{setting}: no {where.describe_token()} in {where.module}")


def find_key(session: Session, where: TokenAddress) -> SignMixin:
    """The one private key with the configured label and/or id; CAError otherwise. (The search
    is read to its end: an unfinished one outlives its session.)"""
    found = list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY,
                                      **where.attributes()}))
    if not found:
        raise CAError(f"ca.pkcs11: no private {where.describe_key()}")
    if len(found) > 1:
        raise CAError(f"ca.pkcs11: more than one private {where.describe_key()}; "
                      f"name it by ca.pkcs11.key_id too")
    key = found[0]
    if not isinstance(key, PrivateKey) or not isinstance(key, SignMixin):
        raise CAError(f"ca.pkcs11: the {where.describe_key()} is not a signing private key")
    return key


class SessionPool:
    """At most `size` sessions on the token, each with the key looked up once."""

    def __init__(self, lib: Library, where: TokenAddress, pin: str | None, *, size: int,
                 wait_seconds: float) -> None:
        self._lib, self._where, self._pin = lib, where, pin
        self._size, self._wait = size, wait_seconds
        self._call = library_lock(where.module)
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._idle: list[Lease] = []
        self._open = 0
        self._generation = 0
        self._reconnects = 0
        self._last_error: str | None = None

    @property
    def call_lock(self) -> threading.RLock:
        """Held around every call into the library (the start-up look-ups take it too)."""
        return self._call

    @contextlib.contextmanager
    def leased(self) -> Iterator[Lease]:
        """A session of the pool, given back afterwards (forgotten when its token failed)."""
        if not self._slots.acquire(timeout=self._wait):
            raise CAError(f"no PKCS#11 session free on {self._where.describe_token()} within "
                          f"{self._wait:g} s (ca.pkcs11.max_sessions: {self._size})")
        try:
            lease = self._lease()
            try:
                yield lease
            except SESSION_LOST as exc:
                self._forget(lease, exc)
                raise
            with self._lock:
                self._idle.append(lease)
        finally:
            self._slots.release()

    def sign(self, data: bytes, mechanism: Mechanism) -> bytes:
        """The token's signature over `data`; CAError when no session is free in time, the
        token refuses, or it fails twice (the second time on a fresh session)."""
        for attempt in range(2):
            try:
                with self.leased() as lease, self._call:
                    return lease.key.sign(data, mechanism=mechanism)
            except SESSION_LOST as exc:
                if attempt:
                    raise CAError(f"{self._where.describe_key()}: signing failed twice: "
                                  f"{type(exc).__name__}") from None
            except PKCS11Error as exc:
                if type(exc) is not PKCS11Error or self._lib.initialized:
                    raise CAError(f"{self._where.describe_key()}: signing failed: "
                                  f"{type(exc).__name__}") from None
                self._forget_all(exc)  # the library was finalised under us
                if attempt:
                    raise CAError(f"{self._where.describe_key()}: signing failed twice: "
                                  f"{type(exc).__name__}") from None
        raise AssertionError("unreachable")  # the loop returns or raises

    def state(self) -> dict[str, object]:
        """Session counts, reconnections and the last token error (for /healthz)."""
        with self._lock:
            return {"token": self._where.describe_token(), "key": self._where.describe_key(),
                    "sessions": {"open": self._open, "idle": len(self._idle), "max": self._size},
                    "reconnects": self._reconnects, "last_error": self._last_error}

    def _lease(self) -> Lease:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            generation = self._generation
            self._open += 1
        try:
            with self._call:
                session, key = self._open_session()
        except BaseException:
            with self._lock:
                self._open -= 1
            raise
        return Lease(session, key, generation)

    def _forget(self, lease: Lease, exc: PKCS11Error) -> None:
        """Forget a session whose token failed; when it was of the current generation, every
        idle one goes too (a reset takes all of them). None is closed: see the module doc."""
        with self._lock:
            self._open -= 1
            self._last_error = type(exc).__name__
            if lease.generation == self._generation:
                self._new_generation()

    def _forget_all(self, exc: PKCS11Error) -> None:
        with self._lock:
            self._last_error = type(exc).__name__
            self._new_generation()

    def _new_generation(self) -> None:  # with self._lock held
        self._generation += 1
        self._reconnects += 1
        self._open -= len(self._idle)
        self._idle = []

    def _open_session(self) -> tuple[Session, SignMixin]:
        """A new session, logged in, with its key (with the call lock held)."""
        if not self._lib.initialized:
            try:
                self._lib.initialize()
            except PKCS11Error as exc:
                raise CAError(f"ca.pkcs11.module: {self._where.module} cannot be initialised "
                              f"again: {type(exc).__name__}") from None
        try:
            session = self._open_logged_in()
            return session, find_key(session, self._where)
        except PKCS11Error as exc:
            raise CAError(f"{self._where.describe_token()}: cannot open a session: "
                          f"{type(exc).__name__}") from None

    def _open_logged_in(self) -> Session:
        token = find_token(self._lib, self._where)
        try:
            return token.open(user_pin=self._pin)
        except UserAlreadyLoggedIn:
            return token.open()  # the application is logged in already (another session)
        except (PinIncorrect, PinLocked) as exc:
            raise CAError(f"ca.pkcs11.pin: {self._where.describe_token()} refused the PIN "
                          f"({type(exc).__name__})") from None
