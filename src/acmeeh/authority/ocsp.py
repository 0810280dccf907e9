"""The OCSP responder (RFC 6960): status from the database, signed answers reused for a while.

A certificate's revocation state is read from the database (one indexed row) per request, or,
while this process hears every revocation of every instance (ocsp_states: a LISTEN connection
that proved it hears), from memory until an announcement names the serial. Either way the
state is part of the cache key of signed answers, so a revocation recorded by any instance
changes the answer of every instance at once (or, from memory, within the milliseconds the
announcement takes to arrive); what is reused is only the signature over an unchanged state,
for at most `ocsp.cache_seconds` (and never past its nextUpdate).

A nonce (RFC 8954) can only be echoed in a response signed for that request, so honouring
nonces lets any client make the responder sign at the client's rate. They are therefore off
by default (`ocsp.nonce_enabled`): the nonce is left out and the answer comes from the cache,
as RFC 8954 §2.1 allows. When on, at most `ocsp.nonce_signatures_per_second` such signatures
are made per process; past that budget the cached answer, without nonce, is given.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from .. import metrics
from ..config.settings import Settings
from ..issuance import ocsp
from ..issuance.responder import DelegatedResponder
from ..issuance.signer import Signer
from ..store import db
from ..store import revocation_status as status_store
from .env import Env
from .ocsp_states import StateCache
from .ratelimits import TokenBucket

Status = ocsp.Status


@dataclass(frozen=True)
class OCSPAnswer:
    """DER OCSPResponse; times are set for signed answers, `cacheable` when HTTP caches may
    keep it (no nonce)."""

    der: bytes
    this_update: datetime | None = None
    next_update: datetime | None = None
    cacheable: bool = False


def responder_dir(settings: Settings) -> Path | None:
    """ocsp.responder_dir; None keeps the delegated responder in memory only.

    Never a place derived from ca.key: the CA key is often on a read-only mount (a container
    secret, a Kubernetes Secret volume), and a directory beside it cannot be written.
    """
    if settings.ocsp.responder_dir:
        return Path(settings.ocsp.responder_dir)
    return None


class OCSPResponder:
    """Answers OCSP requests about certificates of the configured CA. One per process."""

    def __init__(self, env: Env, issuer: Signer, signer: Callable[[], Signer]) -> None:
        self._env = env
        self._issuer = issuer
        self._signer = signer
        cfg = env.settings.ocsp
        self._validity = timedelta(seconds=cfg.response_validity_seconds)
        self._cache_for = timedelta(seconds=cfg.cache_seconds)
        self._cache_size = cfg.cache_size
        self._nonces = (
            TokenBucket(cfg.nonce_signatures_per_second) if cfg.nonce_enabled else None
        )
        self._cache: OrderedDict[tuple, OCSPAnswer] = OrderedDict()
        # Revocation states answered from memory while a listener hears every change of them
        # (ocsp.listen_for_revocations; runtime.start starts the listener).
        self.states = StateCache(cfg.cache_size)
        self._lock = threading.Lock()
        self._hashes: dict[str, tuple[bytes, bytes]] = {
            name: ocsp.issuer_hashes(issuer.certificate, name) for name in ocsp.CERTID_HASHES
        }

    @classmethod
    def from_env(cls, env: Env) -> OCSPResponder:
        """The CA's signer (from the CA backend: a key file or an HSM) and, for `ocsp.signer:
        delegated`, the responder certificate (issued now when missing or due). Raises CAError
        on a bad CA or directory, or a backend that publishes no status of its own."""
        settings = env.settings
        issuer = env.ca.status_signer(settings.ca.hash)
        if settings.ocsp.signer == "ca":
            return cls(env, issuer, lambda: issuer)
        delegated = DelegatedResponder(
            issuer, responder_dir(settings),
            validity=timedelta(seconds=settings.ocsp.responder_validity_seconds),
            renew_before=timedelta(seconds=settings.ocsp.responder_renew_before_seconds),
            clock=env.clock,
        )
        delegated.current()  # fail at start-up rather than on the first request
        return cls(env, issuer, delegated.current)

    @property
    def issuer(self) -> Signer:
        return self._issuer

    def signer(self) -> Signer:
        """The signer in use now (the delegated one rotates)."""
        return self._signer()

    def respond(self, request_der: bytes) -> OCSPAnswer:
        """The OCSPResponse for a DER OCSPRequest; never raises for a bad request.

        malformedRequest for anything but one well-formed CertID, unauthorized when it names
        another issuer (RFC 6960 §2.3), tryLater when the database is unavailable,
        internalError when reading it fails otherwise.
        """
        try:
            query = ocsp.parse_request(request_der)
        except ocsp.OCSPError as exc:
            return self._unsuccessful(exc.status)
        name_hash, key_hash = self._hashes[query.hash_algorithm.name]
        if (query.issuer_name_hash, query.issuer_key_hash) != (name_hash, key_hash):
            return self._unsuccessful(Status.UNAUTHORIZED)
        try:
            state = self._state(query.serial_number)
        except db.Unavailable as exc:  # RFC 6960 §2.3 tryLater: "Try again later"
            self._env.log.warning("OCSP status lookup: database unavailable: %s", type(exc).__name__)
            return self._unsuccessful(Status.TRY_LATER)
        except Exception:
            self._env.log.exception("OCSP status lookup failed")
            return self._unsuccessful(Status.INTERNAL_ERROR)
        signer = self._signer()
        now = self._env.clock()
        if query.nonce is not None and self._nonces is not None and self._nonces.take():
            answer = self._sign(signer, query, state, now, nonce=query.nonce)
            metrics.OCSP_RESPONSES.labels(status=state.kind, cache="nonce").inc()
            return answer
        key = (query.serial_number, query.hash_algorithm.name, state, signer.certificate.serial_number)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and self._fresh(cached, now):
                self._cache.move_to_end(key)
                metrics.OCSP_RESPONSES.labels(status=state.kind, cache="hit").inc()
                return cached
        answer = self._sign(signer, query, state, now)
        if self._cache_for:
            with self._lock:
                self._cache[key] = answer
                self._cache.move_to_end(key)
                while len(self._cache) > self._cache_size:  # bounded by the size check
                    self._cache.popitem(last=False)
        metrics.OCSP_RESPONSES.labels(status=state.kind, cache="miss").inc()
        return answer

    def clear(self) -> None:
        """Forget every signed response (tests; a rotation makes old keys unreachable anyway)."""
        with self._lock:
            self._cache.clear()

    def _fresh(self, answer: OCSPAnswer, now: datetime) -> bool:
        assert answer.this_update is not None and answer.next_update is not None
        return now < answer.this_update + self._cache_for and now < answer.next_update

    def _state(self, serial_number: int) -> ocsp.CertState:
        if serial_number <= 0:
            return ocsp.UNKNOWN
        serial = format(serial_number, "x")
        known = self.states.get(serial)
        if known is not None:
            return known
        ticket = self.states.ticket()
        with self._env.pool.connection() as conn:
            row = status_store.get_status(conn, serial)
        if row is None:
            return ocsp.UNKNOWN
        if row.revoked_at is not None:
            state = ocsp.CertState("revoked", row.revoked_at.replace(microsecond=0), row.revocation_reason)
        else:
            state = ocsp.GOOD
        if row.stored:  # an intent's state changes unannounced: read it every time
            self.states.put(serial, state, ticket)
        return state

    def _sign(
        self, signer: Signer, query: ocsp.OCSPQuery, state: ocsp.CertState, now: datetime,
        *, nonce: bytes | None = None,
    ) -> OCSPAnswer:
        this_update = now.replace(microsecond=0)
        # A response must not outlive the certificate that signed it.
        next_update = min(this_update + self._validity, signer.certificate.not_valid_after_utc)
        der = ocsp.build_response(
            signer, query, state, this_update=this_update, next_update=next_update, nonce=nonce
        )
        return OCSPAnswer(der, this_update, next_update, cacheable=nonce is None)

    def _unsuccessful(self, status: Status) -> OCSPAnswer:
        metrics.OCSP_RESPONSES.labels(status=status.name.lower(), cache="none").inc()
        return OCSPAnswer(ocsp.unsuccessful(status))
