"""The CABackend seam: what the authority asks of the CA backend during issuance and
revocation, watched through a backend that forwards to the real one (LocalCA)."""
from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime

from cryptography import x509
from psycopg import sql
from support.acme_client import expect, make_csr

from acmeeh.authority import intents, revocation
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

    def health(self):
        return self.inner.health()

    def status_signer(self, hash_name: str):
        return self.inner.status_signer(hash_name)

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


def refuse_certificate_insert(env, name: str, *, on: bool) -> None:
    """A BEFORE INSERT trigger on certificates that refuses rows naming `name` (on), or its
    removal (off): the certificate is signed and then cannot be stored."""
    with env.pool.connection() as conn:
        if not on:
            conn.execute("DROP TRIGGER IF EXISTS seam_refuse ON certificates")
            conn.execute("DROP FUNCTION IF EXISTS seam_refuse()")
            return
        conn.execute(sql.SQL(
            "CREATE FUNCTION seam_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " IF NEW.names @> ARRAY[{name}]::text[] THEN RAISE EXCEPTION 'refused by the test';"
            " END IF; RETURN NEW; END $$").format(name=sql.Literal(name)))
        conn.execute("CREATE TRIGGER seam_refuse BEFORE INSERT ON certificates FOR EACH ROW"
                      " EXECUTE FUNCTION seam_refuse()")


def test_the_backend_hears_of_a_revoked_unstored_certificate(web_app, client_for) -> None:
    """A leaf signed but never stored (kept with its issuance intent), revoked by an operator
    through the intents API: the backend is told, as for a stored certificate."""
    env = web_app.runtime.env
    client = client_for()
    expect(client.new_account(contact=["mailto:web@example.com"]), 201)
    name = f"u-{uuid.uuid4().hex[:8]}.localhost"
    created = expect(client.new_order([name]), 201)
    challenge = expect(client.post(created.json()["authorizations"][0]), 200).json()["challenges"][0]
    expect(client.respond(challenge["url"]), 200)
    ready = client.poll(created.headers["Location"], until=("ready",), timeout=10).json()
    refuse_certificate_insert(env, name, on=True)
    try:
        assert client.finalize(ready, make_csr([name])[0]).status_code == 500
    finally:
        refuse_certificate_insert(env, name, on=False)
    order_id = uuid.UUID(created.headers["Location"].rsplit("/", 1)[1])
    with env.pool.connection() as conn:
        serial, der = conn.execute("SELECT serial, der FROM issuance_intents WHERE order_id = %s",
                                   (order_id,)).fetchone()
    assert der is not None  # the signed leaf was kept
    watched = Watched(env.ca)
    row = intents.revoke(dataclasses.replace(env, ca=watched), serial,
                         RevocationReason.CESSATION_OF_OPERATION, operator="seam-test")
    assert watched.revocations == [
        (int(serial, 16), RevocationReason.CESSATION_OF_OPERATION, row.revoked_at)]
