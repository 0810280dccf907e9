"""Revocation (RFC 8555 §7.6): by the owner, by a holder of every name's authorization,
or by whoever holds the certificate's private key."""
from __future__ import annotations

import hashlib
import uuid
from typing import Any

import josepy
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .. import metrics
from ..issuance import CAError
from ..logs import audit
from ..protocol import jws, problems
from ..protocol.status import RevocationReason
from ..store import authzs as authz_store
from ..store import certs as cert_store
from ..store.records import AccountRow, CertificateRow
from . import events
from .env import Env

# RFC 5280 §5.3.1 codes a subscriber may ask for. certificateHold is not supported (a hold
# would need un-revocation), 7 is unused and removeFromCRL only appears in delta CRLs.
ALLOWED_REASONS = frozenset({0, 1, 2, 3, 4, 5, 9, 10})


def _spki_sha256(public_key: Any) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def _find(conn, cert_der: bytes) -> CertificateRow:
    try:
        cert = x509.load_der_x509_certificate(cert_der)
    except ValueError:
        raise problems.malformed("certificate is not a DER X.509 certificate") from None
    row = cert_store.find_certificate_by_serial(conn, format(cert.serial_number, "x"))
    if row is None or row.der != cert_der:
        raise problems.not_found("certificate was not issued by this server")
    return row


def _authorized(conn, env: Env, account: AccountRow, row: CertificateRow) -> bool:
    if row.account_id == account.id:
        return True
    cert = x509.load_der_x509_certificate(row.der)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    wanted = [("dns", n) for n in names.get_values_for_type(x509.DNSName)]
    wanted += [("ip", str(a)) for a in names.get_values_for_type(x509.IPAddress)]
    # Wildcard names are held by an authorization of their base with the wildcard flag.
    lookup = [(t, v.removeprefix("*.")) for t, v in wanted]
    held = {(a.identifier_type, a.identifier_value)
            for a in authz_store.find_valid_for_names(conn, account.id, lookup, env.clock())}
    return bool(lookup) and all(item in held for item in lookup)


def revoke(
    env: Env, cert_der: bytes, reason: int | None, *,
    account: AccountRow | None = None, jwk: josepy.JWK | None = None,
) -> CertificateRow:
    """Revoke once. `account` for kid-signed requests, `jwk` for certificate-key requests."""
    code = 0 if reason is None else reason
    if code not in ALLOWED_REASONS:
        allowed = ", ".join(str(r) for r in sorted(ALLOWED_REASONS))
        raise problems.bad_revocation_reason(f"reason {code} is not accepted (allowed: {allowed})")
    with env.pool.connection() as conn, conn.transaction():
        row = _find(conn, cert_der)
        if account is not None:
            if not _authorized(conn, env, account, row):
                raise problems.unauthorized("this account may not revoke this certificate")
        else:
            cert_key = x509.load_der_x509_certificate(row.der).public_key()
            if jwk is None or _spki_sha256(jws.public_key_of(jwk)) != _spki_sha256(cert_key):
                raise problems.unauthorized("the request is not signed by the certificate's key")
        if row.revoked_at is not None:
            raise problems.already_revoked("certificate is already revoked")
        done = cert_store.set_revoked(conn, row.id, reason=code, now=env.clock())
        if done is None:
            raise problems.already_revoked("certificate is already revoked")
        events.certificate_revoked(conn, env, done,
                                   by="account" if account is not None else "certificate-key")
    env.log.info("certificate revoked", extra={"serial": row.serial, "reason": RevocationReason(code).name})
    metrics.CERTIFICATES_REVOKED.inc()
    audit("certificate.revoked", actor=f"account:{account.id}" if account else "certificate-key",
          certificate_id=row.id, serial=row.serial, reason=RevocationReason(code).name)
    _tell_backend(env, done)
    return done


def revoke_by_admin(env: Env, cert_id: uuid.UUID, reason: int, *,
                    operator: str | None = None) -> CertificateRow:
    """An operator revokes a certificate by id: 404 unknown, alreadyRevoked twice."""
    if reason not in ALLOWED_REASONS:
        raise problems.bad_revocation_reason(f"reason {reason} is not accepted")
    with env.pool.connection() as conn, conn.transaction():
        row = cert_store.get_certificate(conn, cert_id)
        if row is None:
            raise problems.not_found("no such certificate")
        done = cert_store.set_revoked(conn, cert_id, reason=reason, now=env.clock())
        if done is None:
            raise problems.already_revoked("certificate is already revoked")
        events.certificate_revoked(conn, env, done, by="operator", operator=operator)
    env.log.info("certificate revoked by an operator",
                 extra={"serial": done.serial, "reason": RevocationReason(reason).name})
    metrics.CERTIFICATES_REVOKED.inc()
    audit("certificate.revoked", actor="operator", certificate_id=cert_id, serial=done.serial,
          reason=RevocationReason(reason).name)
    _tell_backend(env, done)
    return done


def revoke_many_by_admin(env: Env, cert_ids: list[uuid.UUID], reason: int, *,
                         operator: str | None = None) -> list[CertificateRow]:
    """Revoke each certificate (one transaction each); those revoked meanwhile are skipped."""
    if reason not in ALLOWED_REASONS:
        raise problems.bad_revocation_reason(f"reason {reason} is not accepted")
    done = []
    for cert_id in cert_ids:
        try:
            done.append(revoke_by_admin(env, cert_id, reason, operator=operator))
        except problems.Problem as skipped:
            if skipped.code != "alreadyRevoked":
                raise
    return done


def _tell_backend(env: Env, cert: CertificateRow) -> None:
    """After the revocation committed: the CA backend hears of it (CABackend.revoked); its
    failure is logged, the revocation stands."""
    assert cert.revoked_at is not None and cert.revocation_reason is not None
    try:
        env.ca.revoked(cert.der, RevocationReason(cert.revocation_reason), cert.revoked_at)
    except CAError as exc:
        env.log.warning("the CA backend was not told of a revocation: %s", exc,
                        extra={"serial": cert.serial})
