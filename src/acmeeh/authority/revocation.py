"""Revocation (RFC 8555 §7.6): by the owner, by a holder of every name's authorization,
or by whoever holds the certificate's private key; and by an operator.

Reasons (issue 11 item 4): subscribers, whichever of the three ways they prove their right,
may give unspecified, keyCompromise, affiliationChanged, superseded or cessationOfOperation.
Operators may give any RFC 5280 reason except removeFromCRL and the two about a CA
(cACompromise, aACompromise). Anything else is badRevocationReason.

keyCompromise (RFC 8555 §7.6) blocks the key, and the account's other unexpired certificates
that carry it are revoked with it.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from dataclasses import dataclass, field

import josepy
from cryptography import x509

from .. import metrics
from ..issuance import CAError
from ..logs import audit
from ..protocol import jws, keys, problems
from ..protocol.messages import Revocation
from ..protocol.status import RevocationReason
from ..store import authzs as authz_store
from ..store import blocked_keys as blocked_store
from ..store import certs as cert_store
from ..store.db import Connection
from ..store.records import AccountRow, CertificateRow
from . import events
from .env import Env

R = RevocationReason
SUBSCRIBER_REASONS = frozenset({R.UNSPECIFIED, R.KEY_COMPROMISE, R.AFFILIATION_CHANGED,
                                R.SUPERSEDED, R.CESSATION_OF_OPERATION})
# certificateHold is never lifted here (there is no removeFromCRL), so it acts as a revocation.
ADMIN_REASONS = SUBSCRIBER_REASONS | {R.CERTIFICATE_HOLD, R.PRIVILEGE_WITHDRAWN}


@dataclass
class Revoked:
    """What one revocation request revoked: the certificate asked for, and what keyCompromise
    took with it."""

    serial: str
    certificates: list[CertificateRow] = field(default_factory=list)
    blocked: str | None = None


def check_reason(code: int, allowed: frozenset[RevocationReason]) -> None:
    """badRevocationReason unless `code` is one of `allowed` (the detail lists them)."""
    if code not in allowed:
        names = ", ".join(f"{int(r)} ({_camel(r)})" for r in sorted(allowed))
        raise problems.bad_revocation_reason(f"reason {code} is not accepted here; use {names}")


def _camel(reason: RevocationReason) -> str:
    head, *rest = reason.name.lower().split("_")
    return head + "".join(part.capitalize() for part in rest)


def _find(conn: Connection, cert_der: bytes) -> CertificateRow:
    try:
        cert = x509.load_der_x509_certificate(cert_der)
    except ValueError:
        raise problems.malformed("certificate is not a DER X.509 certificate") from None
    row = cert_store.find_certificate_by_serial(conn, format(cert.serial_number, "x"))
    if row is None or row.der != cert_der:
        raise problems.not_found("certificate was not issued by this server")
    return row


def _names(row: CertificateRow) -> list[tuple[str, str, bool]]:
    """(type, value, wildcard) of every name of the certificate, as authorizations hold them."""
    cert = x509.load_der_x509_certificate(row.der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    names = [("dns", n.removeprefix("*."), n.startswith("*."))
             for n in san.get_values_for_type(x509.DNSName)]
    return names + [("ip", str(a), False) for a in san.get_values_for_type(x509.IPAddress)]


def _authorized(conn: Connection, env: Env, account: AccountRow, row: CertificateRow) -> bool:
    """The owner, or an account with a valid authorization for each name exactly: a wildcard
    name needs a wildcard authorization of its base, a plain name a plain one."""
    if row.account_id == account.id:
        return True
    wanted = _names(row)
    held = {(a.identifier_type, a.identifier_value, a.wildcard)
            for a in authz_store.find_valid_for_names(conn, account.id, wanted, env.clock())}
    return bool(wanted) and all(name in held for name in wanted)


def revoke(
    env: Env, msg: Revocation, *,
    account: AccountRow | None = None, jwk: josepy.JWK | None = None,
) -> CertificateRow:
    """Revoke once. `account` for kid-signed requests, `jwk` for certificate-key requests."""
    code = 0 if msg.reason is None else int(msg.reason)
    check_reason(code, SUBSCRIBER_REASONS)
    actor = f"account:{account.id}" if account else "certificate-key"
    with env.pool.connection() as conn, conn.transaction():
        row = _find(conn, msg.certificate)
        if account is not None:
            if not _authorized(conn, env, account, row):
                raise problems.unauthorized("this account may not revoke this certificate")
        else:
            cert_key = x509.load_der_x509_certificate(row.der).public_key()
            if jwk is None or keys.spki_sha256(jws.public_key_of(jwk)) != keys.spki_sha256(cert_key):
                raise problems.unauthorized("the request is not signed by the certificate's key")
        by = "account" if account is not None else "certificate-key"
        done = _revoke_certificate(env, conn, row, code, actor, by=by)
    report(env, done, code, actor)
    return done.certificates[0]


def operator_actor(operator: str | None) -> str:
    """The audit actor of an operator's change."""
    return f"admin:{operator}" if operator else "operator"


def revoke_by_admin(env: Env, cert_id: uuid.UUID, reason: int, *,
                    operator: str | None = None) -> CertificateRow:
    """An operator revokes a certificate by id: 404 unknown, alreadyRevoked twice."""
    check_reason(reason, ADMIN_REASONS)
    with env.pool.connection() as conn, conn.transaction():
        row = cert_store.get_certificate(conn, cert_id)
        if row is None:
            raise problems.not_found("no such certificate")
        done = _revoke_certificate(env, conn, row, reason, operator_actor(operator),
                                   by="operator", operator=operator)
    report(env, done, reason, operator_actor(operator))
    return done.certificates[0]


def revoke_many_by_admin(env: Env, cert_ids: list[uuid.UUID], reason: int, *,
                         operator: str | None = None) -> list[CertificateRow]:
    """Revoke each certificate (one transaction each); those revoked meanwhile are skipped."""
    check_reason(reason, ADMIN_REASONS)
    done = []
    for cert_id in cert_ids:
        try:
            done.append(revoke_by_admin(env, cert_id, reason, operator=operator))
        except problems.Problem as skipped:
            if skipped.code != "alreadyRevoked":
                raise
    return done


def _revoke_certificate(env: Env, conn: Connection, row: CertificateRow, code: int,
                        actor: str, *, by: str, operator: str | None = None) -> Revoked:
    """Inside the caller's transaction: revoke `row` (alreadyRevoked if it was); for
    keyCompromise, block its key and revoke what else the account holds with it."""
    if row.revoked_at is not None:
        raise problems.already_revoked("certificate is already revoked")
    first = cert_store.set_revoked(conn, row.id, reason=code, now=env.clock())
    if first is None:
        raise problems.already_revoked("certificate is already revoked")
    done = Revoked(row.serial, certificates=[first])
    if code == R.KEY_COMPROMISE:
        compromised(env, conn, done, account_id=row.account_id, spki=row.spki_sha256,
                     certificate_id=row.id, actor=actor)
    for cert in done.certificates:
        events.certificate_revoked(conn, env, cert, by=by, operator=operator)
    return done


def compromised(env: Env, conn: Connection, done: Revoked, *, account_id: uuid.UUID,
                 spki: str, certificate_id: uuid.UUID | None, actor: str) -> None:
    """RFC 8555 §7.6 keyCompromise: block the key; revoke the account's other unexpired
    certificates that carry it."""
    now = env.clock()
    if blocked_store.insert(conn, spki, source="revocation", certificate_id=certificate_id,
                            comment=f"keyCompromise of serial {done.serial}", created_by=actor):
        done.blocked = spki
    for other in cert_store.unexpired_with_key(conn, account_id, spki, now):
        if (also := cert_store.set_revoked(conn, other.id, reason=R.KEY_COMPROMISE, now=now)):
            done.certificates.append(also)


def report(env: Env, done: Revoked, code: int, actor: str) -> None:
    """Log, count and audit what a committed revocation did; tell the CA backend of each
    certificate revoked (CABackend.revoked: its failure is logged, the revocation stands)."""
    for cert in done.certificates:
        _tell_backend(env, cert)
        serial = cert.serial
        extra: dict[str, str] = {"certificate_id": str(cert.id)}
        if serial != done.serial:
            extra["same_key_as"] = done.serial
        env.log.info("certificate revoked", extra={"serial": serial, "reason": R(code).name})
        metrics.CERTIFICATES_REVOKED.inc()
        audit("certificate.revoked", actor=actor, serial=serial, reason=R(code).name, **extra)
    if done.blocked:
        env.log.warning("key blocked after keyCompromise", extra={"spki_sha256": done.blocked})
        audit("key.blocked", actor=actor, spki_sha256=done.blocked, serial=done.serial)


def _tell_backend(env: Env, cert: CertificateRow) -> None:
    assert cert.revoked_at is not None and cert.revocation_reason is not None
    tell_backend(env, cert.serial, cert.der, cert.revocation_reason, cert.revoked_at)


def tell_backend(env: Env, serial: str, der: bytes, reason: int, when: datetime) -> None:
    """CABackend.revoked for one committed revocation; a CAError is logged, the revocation
    stands (the CRL and OCSP answers come from the database)."""
    try:
        env.ca.revoked(der, R(reason), when)
    except CAError as exc:
        env.log.warning("the CA backend was not told of a revocation: %s", exc,
                        extra={"serial": serial})
