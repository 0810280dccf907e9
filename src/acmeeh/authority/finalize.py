"""Finalize (RFC 8555 §7.4): check the CSR, sign once, never leave an order stuck."""
from __future__ import annotations

import uuid

from .. import metrics
from ..logs import audit
from ..protocol import keys, problems
from ..protocol.csr import check_csr, parse_csr
from ..protocol.identifiers import Identifier, normalize
from ..protocol.status import OrderStatus
from ..store import accounts as account_store
from ..store import authzs as authz_store
from ..store.db import Connection, transaction
from ..store.records import AccountRow, AuthzRow, OrderRow
from . import allowlists, caa, notifications, policy, ratelimits, states
from .env import Env
from .orders import OrderState, load_order, refresh


def finalize(
    env: Env, account: AccountRow, order_id: uuid.UUID, csr_der: bytes, *,
    remote_addr: str | None = None,
) -> OrderState:
    """ready → processing → valid, as compare-and-sets around an untransacted signature.

    Two concurrent calls: one wins the ready → processing move, the other gets orderNotReady.
    A CSR that does not match leaves the order ready (badCSR), and so does rateLimited past
    the account's certificates_per_account limit. Any failure after the order went to
    processing marks it invalid with the problem. A CSR whose key is any account's key is
    refused (badCSR).
    """
    sec = env.settings.security
    limited = ratelimits.limits_client(env, remote_addr)
    with env.pool.connection() as conn:  # reads; one compare-and-set unless rate-limited
        state = refresh(env, conn, load_order(conn, account, order_id))
        order = state.order
        if order.status != OrderStatus.READY:
            raise problems.order_not_ready(f"order is {order.status}, not ready")
        identifiers = [normalize(i["type"], i["value"]) for i in order.identifiers]
        parsed = parse_csr(csr_der)
        check_csr(parsed, identifiers, policy=keys.KeyPolicy.for_certificates(sec))
        if account_store.key_in_use(conn, keys.spki_sha256(parsed.public_key)):
            # RFC 8555 §11.1: a certificate key is never an account key, this one's or another's.
            raise problems.bad_csr("CSR key refused: it is the key of an ACME account")
        methods = authz_store.validation_methods(conn, [a.id for a in state.authorizations])
        _recheck_policy(env, conn, account, identifiers, state.authorizations, methods)
        stale = caa.due(env, state.authorizations, env.clock())
        if not stale:
            _start_processing(env, conn, account, order, limited, remote_addr)
    if stale:  # CAA older than caa.recheck_after_seconds: ask DNS again, outside any transaction
        caa.recheck(env, account.id, stale, methods)
        with env.pool.connection() as conn:
            _start_processing(env, conn, account, order, limited, remote_addr)
    try:
        issued = env.ca.sign(parsed.csr, identifiers)
    except Exception as exc:
        env.log.exception("signing failed", extra={"order_id": str(order.id)})
        metrics.CA_SIGNING_ERRORS.inc()
        audit("order.finalized", actor=f"account:{account.id}", outcome="failure",
              order_id=order.id, reason="signing failed")
        _fail(env, order.id, problems.server_internal())
        raise problems.server_internal() from exc
    cert_id = uuid.uuid4()
    outbox = notifications.would_notify(env, account)
    with env.pool.connection() as conn, transaction(conn, needed=outbox):
        stored = states.complete_order(
            conn, order.id, cert_id, serial=issued.serial_hex, account_id=account.id,
            der=issued.der, pem_chain=issued.pem_chain, names=[_name(i) for i in identifiers],
            not_before=issued.not_before, not_after=issued.not_after,
            fingerprint=issued.fingerprint_sha256, spki_sha256=issued.spki_sha256,
        )
        if stored is None:  # recovered as stale meanwhile: do not hand out a certificate
            raise problems.order_not_ready("order left processing before the certificate was stored")
        cert, done = stored
        if outbox:
            notifications.notify_issued(conn, env, account, cert)  # commits with the certificate
        state = OrderState(done, state.authorizations)  # all valid: checked when it was ready
    env.log.info("certificate issued", extra={"order_id": str(order.id), "serial": issued.serial_hex})
    metrics.CERTIFICATES_ISSUED.inc()
    actor = f"account:{account.id}"
    audit("order.finalized", actor=actor, order_id=order.id, certificate_id=cert_id)
    audit("certificate.issued", actor=actor, certificate_id=cert_id, serial=issued.serial_hex,
          names=",".join(_name(i) for i in identifiers), not_after=issued.not_after.isoformat())
    return state


def _recheck_policy(env: Env, conn: Connection, account: AccountRow,
                    identifiers: list[Identifier], authzs: list[AuthzRow],
                    methods: dict[uuid.UUID, str]) -> None:
    """Issue 11 item 6: the configuration in force now, not the one the order was made under,
    decides. Identifier policy and allowlists (rejectedIdentifier), and the challenge type
    that validated each authorization must still be enabled (unauthorized); the order stays
    ready."""
    policy.check_identifiers(identifiers, env.settings.security.identifiers)
    allowlists.check(conn, account, identifiers)
    enabled = set(env.settings.challenges.enabled)
    policy.raise_refusals([
        problems.unauthorized(
            f"the authorization for {caa.identifier_of(a).value} was validated by "
            f"{methods.get(a.id, 'no challenge')}, which is no longer enabled",
            identifier=caa.identifier_of(a).to_json())
        for a in authzs if methods.get(a.id) not in enabled
    ])


def _start_processing(env: Env, conn: Connection, account: AccountRow, order: OrderRow,
                      limited: bool, remote_addr: str | None) -> None:
    """ready → processing (orderNotReady when another finalize won), taking the
    certificates_per_account count in the same transaction when limits apply."""
    with transaction(conn, needed=limited):
        if states.move_order(conn, order.id, OrderStatus.READY, OrderStatus.PROCESSING) is None:
            raise problems.order_not_ready("order is no longer ready")
        if limited:
            ratelimits.take_certificate(env, conn, account, remote_addr)  # refused: stays ready


def _fail(env: Env, order_id: uuid.UUID, problem: problems.Problem) -> None:
    with env.pool.connection() as conn, conn.transaction():
        states.move_order(conn, order_id, OrderStatus.PROCESSING, OrderStatus.INVALID,
                          error=problem.to_dict())


def _name(ident: Identifier) -> str:
    return ident.value
