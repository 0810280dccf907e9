"""The CABackend seam: what the authority asks of the CA backend during issuance and
revocation, watched through a backend that forwards to the real one (LocalCA)."""
from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime

from cryptography import x509

from acmeeh.authority import revocation
from acmeeh.issuance import CABackend, CAError
from acmeeh.protocol.status import RevocationReason


class Watched:
    """A CABackend that records what it was told and forwards everything to `inner`."""

    def __init__(self, inner: CABackend, *, fail_revoked: bool = False) -> None:
        self.inner = inner
        self.fail_revoked = fail_revoked
        self.revocations: list[tuple[int, RevocationReason, datetime]] = []

    issuer_certificate = property(lambda self: self.inner.issuer_certificate)
    chain_pem = property(lambda self: self.inner.chain_pem)

    def plan(self, profile):
        return self.inner.plan(profile)

    def sign(self, csr, identifiers, *, profile, plan=None):
        return self.inner.sign(csr, identifiers, profile=profile, plan=plan)

    def check(self) -> None:
        self.inner.check()

    def revoked(self, certificate_der: bytes, reason: RevocationReason, when: datetime) -> None:
        serial = x509.load_der_x509_certificate(certificate_der).serial_number
        self.revocations.append((serial, reason, when))
        if self.fail_revoked:
            raise CAError("upstream unreachable")


def issued(issue) -> tuple[uuid.UUID, int]:
    done = issue()
    return done.certificate_id, x509.load_pem_x509_certificate(done.chain.encode()).serial_number


def test_the_backend_hears_of_each_revocation(web_app, issue) -> None:
    assert isinstance(web_app.runtime.env.ca, CABackend)  # the Protocol is runtime-checkable
    assert isinstance(Watched(web_app.runtime.env.ca), CABackend)
    cert_id, serial = issued(issue)
    watched = Watched(web_app.runtime.env.ca)
    env = dataclasses.replace(web_app.runtime.env, ca=watched)
    row = revocation.revoke_by_admin(env, cert_id, RevocationReason.SUPERSEDED)
    assert watched.revocations == [(serial, RevocationReason.SUPERSEDED, row.revoked_at)]


def test_a_failing_backend_does_not_undo_the_revocation(web_app, issue) -> None:
    cert_id, serial = issued(issue)
    watched = Watched(web_app.runtime.env.ca, fail_revoked=True)
    env = dataclasses.replace(web_app.runtime.env, ca=watched)
    row = revocation.revoke_by_admin(env, cert_id, RevocationReason.KEY_COMPROMISE)
    assert row.revoked_at is not None and [s for s, _, _ in watched.revocations] == [serial]
