"""Backend `acme_upstream`: ACMEEH as the registration authority in front of another ACME CA.

ACMEEH has validated the order and applied its policy before `sign` is called. Then, with its
own account at the upstream CA (upstream_account.py), it places an order for the same names
and CSR, answers the upstream's challenges of the configured type (the upstream must be set up
to trust this account: an internal CA that skips or pre-authorises validation for it, Pebble with
its always-valid VA in the tests), finalizes and returns the certificate and chain the upstream
issued, after checking that they are what was asked for: the CSR's key, exactly the order's
names, a leaf that the next certificate of the chain issued. Revocations are forwarded
(RFC 8555 §7.6, signed with the account key).

The upstream assigns serial and validity, so `plan` can only reserve: its serial is a random
placeholder under which the issuance intent is recorded until the signed certificate replaces it
(authority/intents). The upstream publishes its own CRL and OCSP; this backend has no status
signer. An upstream that cannot be reached is `CAUnavailable`, counted by
acmeeh_upstream_errors_total.

The `acme` client library (certbot's) speaks to the upstream; a client network is made per
operation, as it is not meant to be shared between threads. Before finalizing upstream, the
upstream order's URL is logged: should this process die before the certificate comes back, the
operator finds it there (the intent then holds only the placeholder).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import josepy as jose
import requests
from acme import client, errors, messages
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from acmeeh import metrics
from acmeeh.config.settings import AcmeUpstreamSettings, CASettings
from acmeeh.issuance.backend import BackendContext, CAError, CAUnavailable
from acmeeh.issuance.backends import upstream_account
from acmeeh.issuance.chains import intermediates
from acmeeh.issuance.keyfiles import read_certificate
from acmeeh.issuance.local import Clock
from acmeeh.issuance.profiles import (
    IssuedCertificate,
    LeafPlan,
    LeafProfile,
    describe,
    extension_value,
    general_names,
    to_pem,
)
from acmeeh.issuance.signer import Signer
from acmeeh.protocol.identifiers import Identifier
from acmeeh.protocol.status import RevocationReason

log = logging.getLogger("acmeeh.issuance.upstream")

# Reached by a request that may not be answered: connection refused or reset, a timeout, TLS.
_TRANSPORT = (requests.RequestException, OSError)


class UpstreamCA:
    """Orders leaves from the upstream ACME CA with ACMEEH's own account. Thread-safe."""

    def __init__(self, cfg: AcmeUpstreamSettings, directory_url: str, key: jose.JWKEC, *,
                 issuer: x509.Certificate, clock: Clock) -> None:
        self._cfg = cfg
        self._url = directory_url
        self._key = key
        self._issuer = issuer
        self._clock = clock
        self._lock = threading.Lock()
        self._directory: messages.Directory | None = None
        self._account: messages.RegistrationResource | None = None
        self._last_chain = ""
        self._last_error: str | None = None

    def __repr__(self) -> str:  # never show the key
        return f"UpstreamCA({self._url!r})"

    @property
    def issuer_certificate(self) -> x509.Certificate:
        """ca.certificate: the upstream's issuing CA, which every leaf must chain to."""
        return self._issuer

    @property
    def chain_pem(self) -> str:
        """The chain that followed the last leaf the upstream returned; before any, the
        issuing CA (unless it is a self-signed root)."""
        with self._lock:
            return self._last_chain or "".join(to_pem(c) for c in intermediates([self._issuer]))

    def plan(self, profile: LeafProfile) -> LeafPlan:
        """A reservation: a random placeholder serial (the upstream assigns the real one) and
        the validity `profile` asks for (the upstream decides the one it signs)."""
        now = self._clock().replace(microsecond=0)
        return LeafPlan(x509.random_serial_number(), now,
                        now + timedelta(days=profile.validity_days))

    def sign(self, csr: x509.CertificateSigningRequest, identifiers: Sequence[Identifier], *,
             profile: LeafProfile, plan: LeafPlan | None = None) -> IssuedCertificate:
        """Order the leaf upstream, answer its challenges, finalize; the checked result. The
        upstream's own profile of `profile.name` is asked for when the upstream offers it
        (draft-ietf-acme-profiles); otherwise its default shape applies.

        CAUnavailable when the upstream cannot be reached or does not finish in time; CAError
        when it refuses the order or returns something other than was asked for.
        """
        acme = self._client("new_order")
        csr_pem = csr.public_bytes(serialization.Encoding.PEM)
        deadline = datetime.now() + timedelta(seconds=self._cfg.order_timeout_seconds)
        with self._failures("new_order"):
            offered = acme.directory.meta.profiles or {}
            order = acme.new_order(csr_pem, profile=profile.name if profile.name in offered
                                   else None)
            for authz in order.authorizations:
                self._answer(acme, authz)
            log.info("finalizing upstream order %s", order.uri)
        with self._failures("finalize"):
            done = acme.poll_and_finalize(order, deadline)
        return self._checked(done.fullchain_pem or "", csr, identifiers)

    def revoked(self, certificate_der: bytes, reason: RevocationReason, when: datetime) -> None:
        """Forward the revocation to the upstream (RFC 8555 §7.6)."""
        acme = self._client("revoke")
        with self._failures("revoke"):
            try:
                acme.revoke(x509.load_der_x509_certificate(certificate_der), int(reason))
            except errors.ClientError as exc:
                if "alreadyRevoked" not in str(exc):
                    raise

    def check(self) -> None:
        """CAUnavailable unless the upstream's directory answers."""
        self._fetch_directory(refresh=True)

    def health(self) -> Mapping[str, object]:
        with self._lock:
            return {"backend": "acme_upstream", "directory": self._url,
                    "account": self._account.uri if self._account else None,
                    "last_error": self._last_error}

    def status_signer(self, hash_name: str) -> Signer:
        raise CAError("ca.backend acme_upstream: the upstream CA publishes the CRL and OCSP "
                      "answers of what it issues; set crl.enabled and ocsp.enabled to false")

    # --- the upstream -------------------------------------------------------------------------
    def _network(self) -> client.ClientNetwork:
        # verify_ssl goes to requests' `verify`, which takes a CA bundle's path as well.
        verify = self._cfg.ca_bundle or True
        return client.ClientNetwork(self._key, alg=jose.ES256, verify_ssl=verify,  # type: ignore[arg-type]
                                    user_agent="acmeeh-upstream",
                                    timeout=int(self._cfg.timeout_seconds))

    def _fetch_directory(self, *, refresh: bool = False) -> messages.Directory:
        with self._lock:
            cached = self._directory
        if cached is not None and not refresh:
            return cached
        with self._failures("directory"):
            directory = client.ClientV2.get_directory(self._url, self._network())
        with self._lock:
            self._directory = directory
        return directory

    def _client(self, operation: str) -> client.ClientV2:
        """A client with its own network, logged in to ACMEEH's upstream account."""
        acme = client.ClientV2(self._fetch_directory(), self._network())
        with self._lock:
            account = self._account
        if account is None:
            with self._failures(operation):
                account = upstream_account.register(acme, self._cfg, self._key)
            with self._lock:
                self._account = account
        acme.net.account = account
        return acme

    def _answer(self, acme: client.ClientV2, authz: messages.AuthorizationResource) -> None:
        if authz.body.status == messages.STATUS_VALID:
            return
        for challb in authz.body.challenges:
            if challb.chall.typ == self._cfg.challenge_type:
                acme.answer_challenge(challb, challb.chall.response(self._key))
                return
        raise CAError(f"the upstream CA offers no {self._cfg.challenge_type} challenge for "
                      f"{authz.body.identifier.value} (ca.acme_upstream.challenge_type)")

    def _failures(self, operation: str) -> _Failures:
        return _Failures(self, operation)

    def record_failure(self, operation: str, message: str) -> None:
        metrics.UPSTREAM_ERRORS.labels(operation=operation).inc()
        with self._lock:
            self._last_error = f"{operation}: {message}"

    def _checked(self, fullchain: str, csr: x509.CertificateSigningRequest,
                 identifiers: Sequence[Identifier]) -> IssuedCertificate:
        """Never hand out what was not asked for: the CSR's key, exactly the order's names,
        a leaf issued by the next certificate of the chain, which is ca.certificate's key."""
        try:
            certs = x509.load_pem_x509_certificates(fullchain.encode())
        except ValueError:
            certs = []
        if len(certs) < 2:
            raise CAError("the upstream CA returned no certificate chain")
        leaf, issuer = certs[0], certs[1]
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        der = serialization.Encoding.DER
        if leaf.public_key().public_bytes(der, spki) != csr.public_key().public_bytes(der, spki):
            raise CAError("the upstream CA certified another key than the CSR's")
        names = extension_value(leaf, x509.SubjectAlternativeName) or x509.SubjectAlternativeName([])
        if set(names) != set(general_names(list(identifiers))):
            raise CAError("the upstream CA certified other names than the order's")
        try:
            leaf.verify_directly_issued_by(issuer)
            leaf.verify_directly_issued_by(self._issuer)
        except (ValueError, TypeError, InvalidSignature):
            raise CAError("the upstream CA's leaf does not chain to its issuer") from None
        chain = "".join(to_pem(c) for c in intermediates(certs[1:]))
        with self._lock:
            self._last_chain = chain
        return describe(leaf, chain)


class _Failures:
    """Turns what the upstream did into CAError/CAUnavailable, counted and remembered."""

    def __init__(self, ca: UpstreamCA, operation: str) -> None:
        self._ca, self._operation = ca, operation

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 _tb: object) -> None:
        if exc is None or isinstance(exc, CAError):
            return
        if isinstance(exc, _TRANSPORT) or isinstance(exc, errors.TimeoutError):
            self._ca.record_failure(self._operation, type(exc).__name__)
            raise CAUnavailable(f"the upstream CA is unavailable ({self._operation}: "
                                f"{type(exc).__name__})") from exc
        if isinstance(exc, messages.Error):
            if exc.code in ("serverInternal", "rateLimited"):
                self._ca.record_failure(self._operation, exc.code)
                raise CAUnavailable(f"the upstream CA is unavailable ({self._operation}: "
                                    f"{exc.code})") from exc
            self._ca.record_failure(self._operation, exc.code or "error")
            raise CAError(f"the upstream CA refused {self._operation}: {exc}") from exc
        if isinstance(exc, (errors.Error, ValueError, jose.DeserializationError)):
            self._ca.record_failure(self._operation, type(exc).__name__)
            raise CAError(f"the upstream CA answered {self._operation} unexpectedly: "
                          f"{type(exc).__name__}") from exc


def load(ca: CASettings, context: BackendContext) -> UpstreamCA:
    """The upstream backend: ca.certificate read, the account key loaded or generated; the
    upstream is not called yet (it may be down at start-up: issuance then answers that it is
    unavailable, and /healthz reports it)."""
    cfg = ca.acme_upstream
    if not cfg.directory_url or not cfg.account_key:
        raise CAError("ca.acme_upstream.directory_url and ca.acme_upstream.account_key are "
                      "required with ca.backend acme_upstream")
    if ca.key:
        raise CAError("ca.key must be empty with ca.backend acme_upstream: the upstream signs")
    if not ca.certificate:
        raise CAError("ca.certificate is required with ca.backend acme_upstream: the upstream "
                      "CA's issuing certificate, which its leaves must chain to")
    issuer = read_certificate(Path(ca.certificate), "ca.certificate")
    key = upstream_account.account_key(Path(cfg.account_key))
    return UpstreamCA(cfg, cfg.directory_url, key, issuer=issuer, clock=context.clock)
