"""Crash-safe issuance (issue 11 item 5): no serial is signed that the database does not know.

Finalize records an issuance intent (serial, order, names, validity, key hash) in the statement
that moves the order ready → processing, committed before the CA signs; storing the certificate
deletes it in the statement that stores the certificate. What is left is a serial whose
certificate was never stored, and this module settles it:

- `keep_signed`: the certificate insert failed (or the order left processing): the signed leaf
  is kept with its intent.
- `recover`: the stale-order recovery stores a kept leaf (processing → valid), or gives the order
  up (processing → invalid, serverInternal) with the intent recorded as abandoned.
- `revoke`: an operator revokes such a serial; it goes on the CRL and OCSP answers revoked.

Until revoked, OCSP answers "good" for an intent's serial (RFC 6960 §2.2: no certificate
with that serial within its validity is revoked), never "unknown": a leaf signed just before a
crash may be in use, and its serial is one this CA assigned.
"""
from __future__ import annotations

import hashlib
import uuid

from .. import metrics
from ..issuance.profiles import IssuedCertificate
from ..logs import audit
from ..protocol import problems
from ..protocol.status import OrderStatus, RevocationReason
from ..store import accounts as account_store
from ..store import intents as intent_store
from ..store import orders as order_store
from ..store.certs import NewCertificate
from ..store.db import Connection
from ..store.intents import IntentRow
from . import events, revocation, states
from .env import Env


def keep_signed(env: Env, order_id: uuid.UUID, issued: IssuedCertificate) -> None:
    """The signed leaf's certificate row was not stored: keep the leaf with its intent, so the
    admin API shows it and recovery can store it. Never raises: when even this fails (the
    database is gone), the intent still holds the serial."""
    extra = {"order_id": str(order_id), "serial": issued.serial_hex}
    try:
        with env.pool.connection() as conn:
            intent_store.keep_signed(conn, order_id, serial=issued.serial_hex, der=issued.der,
                                     pem_chain=issued.pem_chain, not_before=issued.not_before,
                                     not_after=issued.not_after, now=env.clock())
    except Exception:  # noqa: BLE001 - the intent row already names the serial
        env.log.exception("signed certificate not stored; its intent keeps the serial only",
                          extra=extra)
        kept = False
    else:
        env.log.error("signed certificate not stored; kept with its issuance intent", extra=extra)
        kept = True
    audit("certificate.unstored", actor="system", outcome="failure", order_id=order_id,
          serial=issued.serial_hex, kept=kept)


def recover(env: Env, order_id: uuid.UUID) -> bool:
    """Settle an order left in processing (its finalize died or failed to store).

    With a signed leaf kept in its intent, not revoked: store it now (processing → valid; the
    intent row goes). Otherwise, or when storing fails again: processing → invalid with
    serverInternal, and the intent (if any) stays, marked abandoned: the serial is still known
    to OCSP, the CRL and the admin API. False when the order was no longer processing.
    """
    with env.pool.connection() as conn, conn.transaction():
        if order_store.lock(conn, order_id, OrderStatus.PROCESSING) is None:
            return False  # the order first (as storing a certificate locks it), then the intent
        intent = intent_store.lock_for_order(conn, order_id)
        if intent is not None and intent.der is not None and intent.revoked_at is None \
                and _store_kept(env, conn, intent):
            return True
        moved = states.move_order(conn, order_id, OrderStatus.PROCESSING, OrderStatus.INVALID,
                                  error=problems.server_internal().to_dict())
        if moved is None:
            return False
        events.order_invalid(conn, env, moved, failed=True)
        if intent is not None:
            intent_store.abandon(conn, intent.serial, env.clock())
    env.log.warning("order stuck in processing marked invalid",
                    extra={"order_id": str(order_id),
                           "serial": intent.serial if intent else None,
                           "signed_leaf_kept": bool(intent and intent.der)})
    return True


def _store_kept(env: Env, conn: Connection, intent: IntentRow) -> bool:
    """Store the kept leaf and finish its order, in a savepoint; False when that fails."""
    assert intent.der is not None and intent.pem_chain is not None
    cert_id = uuid.uuid4()
    try:
        with conn.transaction():  # a savepoint: a failing insert leaves the order to give up
            stored = states.complete_order(conn, intent.order_id, NewCertificate(
                id=cert_id, serial=intent.serial, account_id=intent.account_id, der=intent.der,
                pem_chain=intent.pem_chain, names=list(intent.names),
                not_before=intent.not_before, not_after=intent.not_after,
                fingerprint=hashlib.sha256(intent.der).hexdigest(),
                spki_sha256=intent.spki_sha256))
            if stored is None:
                return False
            account = account_store.get_account(conn, intent.account_id)
            if account is not None:
                events.certificate_issued(conn, env, account, stored[0])
    except Exception:  # noqa: BLE001 - whatever the database refused, the order is given up
        env.log.exception("storing a kept certificate failed again; the order is given up",
                          extra={"order_id": str(intent.order_id), "serial": intent.serial})
        return False
    env.log.warning("kept certificate stored by the stale-order recovery",
                    extra={"order_id": str(intent.order_id), "serial": intent.serial})
    metrics.CERTIFICATES_ISSUED.inc()
    audit("certificate.issued", actor="recovery", certificate_id=cert_id, serial=intent.serial,
          names=",".join(intent.names), not_after=intent.not_after.isoformat())
    return True


def revoke(env: Env, serial: str, reason: int, *, operator: str | None = None) -> IntentRow:
    """An operator revokes the serial of a certificate that was never stored: 404 when no
    intent holds it (never recorded, or stored since: revoke the certificate), alreadyRevoked
    twice. An order still processing is given up first, so a finalize still running cannot
    store (and hand out) the revoked certificate. keyCompromise blocks the key and revokes
    the account's other unexpired certificates with it, as for a certificate. The CA backend
    is told (CABackend.revoked) when the signed leaf was kept: without it there is no
    certificate to name, only a serial the database keeps revoked."""
    revocation.check_reason(reason, revocation.ADMIN_REASONS)
    actor = revocation.operator_actor(operator)
    gone = problems.not_found("no unstored issuance has this serial")
    with env.pool.connection() as conn, conn.transaction():
        seen = intent_store.get(conn, serial)
        if seen is None:
            raise gone
        order = order_store.lock(conn, seen.order_id, OrderStatus.PROCESSING)
        intent = intent_store.lock(conn, serial)
        if intent is None:
            raise gone
        if intent.revoked_at is not None:
            raise problems.already_revoked("this serial is already revoked")
        if order is not None:
            moved = states.move_order(conn, order.id, OrderStatus.PROCESSING, OrderStatus.INVALID,
                                      error=problems.server_internal().to_dict())
            if moved is not None:
                events.order_invalid(conn, env, moved, failed=True)
                intent_store.abandon(conn, serial, env.clock())
        now = env.clock()
        row = intent_store.set_revoked(conn, serial, reason=reason, now=now)
        if row is None:
            raise problems.already_revoked("this serial is already revoked")
        done = revocation.Revoked(serial)
        if reason == RevocationReason.KEY_COMPROMISE:
            revocation.compromised(env, conn, done, account_id=row.account_id,
                                   spki=row.spki_sha256, certificate_id=None, actor=actor)
        for cert in done.certificates:
            events.certificate_revoked(conn, env, cert, by="operator", operator=operator)
    env.log.info("unstored certificate's serial revoked",
                 extra={"serial": serial, "reason": RevocationReason(reason).name})
    metrics.CERTIFICATES_REVOKED.inc()
    audit("certificate.revoked", actor=actor, serial=serial, reason=RevocationReason(reason).name,
          unstored="true")
    if row.der is not None and row.revoked_at is not None:  # the signed leaf was kept
        revocation.tell_backend(env, serial, row.der, reason, row.revoked_at)
    revocation.report(env, done, reason, actor)
    return row
