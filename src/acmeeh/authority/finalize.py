"""Finalize (RFC 8555 §7.4): check the CSR, sign once, never leave an order stuck."""
from __future__ import annotations

import time
import uuid

from .. import metrics
from ..logs import audit
from ..notify import Kind
from ..protocol import keys, problems
from ..issuance.backend import CAUnavailable, LeafPlan, LeafProfile
from ..protocol.csr import ParsedCSR, check_csr, parse_csr
from ..protocol.identifiers import Identifier, normalize
from ..protocol.messages import Finalize
from ..protocol.status import OrderStatus
from ..store import db
from ..store import finalize_checks as checks_store
from ..store import intents as intent_store
from ..store import orders as order_store
from ..store.allowlists import AllowlistRow
from ..store.certs import NewCertificate
from ..store.db import Connection
from ..store.records import AccountRow, AuthzRow, CertificateRow, OrderRow
from ..store.webhooks import NewEvent
from . import allowlists, caa, events, intents, policy, prelint, profiles, ratelimits, states
from .env import Env
from .orders import OrderState, order_state

# Transaction B waits this long for a database that is briefly unavailable (see _store).
STORE_DEADLINE_SECONDS = 10.0
STORE_RETRY_SECONDS = 0.5
STORE_ATTEMPTS = 20  # a second bound, whatever the clock does


def finalize(
    env: Env, account: AccountRow, found: tuple[OrderRow, list[AuthzRow]] | None,
    msg: Finalize, *, remote_addr: str | None = None,
) -> OrderState:
    """ready → processing → valid, as compare-and-sets around an untransacted signature.

    Two concurrent calls: one wins the ready → processing move, the other gets orderNotReady.
    A CSR that does not match leaves the order ready (badCSR), and so does rateLimited past
    the account's certificates_per_account limit. Any failure after the order went to
    processing marks it invalid with the problem. A CSR whose key is any account's key is
    refused (badCSR). `found` is the order with its authorizations as read with the signed
    request (404 when None or another account's).
    """
    sec = env.settings.security
    limited = ratelimits.limits_client(env, remote_addr)
    state = order_state(env, account, found)
    order = state.order
    if order.status != OrderStatus.READY:
        raise problems.order_not_ready(f"order is {order.status}, not ready")
    identifiers = [normalize(i["type"], i["value"]) for i in order.identifiers]
    parsed = parse_csr(msg.csr)
    check_csr(parsed, identifiers, policy=keys.certificate_policy(sec))
    with env.pool.connection() as conn:  # one read; one compare-and-set unless rate-limited
        checks = checks_store.read(conn, keys.spki_sha256(parsed.public_key),
                                   [a.id for a in state.authorizations], account_id=account.id,
                                   eab_kid=account.eab_kid)
        uses, methods = checks.key, checks.methods
        if uses.account:
            # RFC 8555 §11.1: a certificate key is never an account key, this one's or another's.
            raise problems.bad_csr("CSR key refused: it is the key of an ACME account")
        if uses.blocked:  # RFC 8555 §7.6
            raise problems.bad_csr("CSR key refused: it is blocked (reported compromised)")
        _recheck_policy(env, checks.allowlist, identifiers, state.authorizations, methods)
        # The profile's configuration in force now decides (invalidProfile if it was removed).
        profile = profiles.configured(env.settings.ca, order.profile)
        profiles.check_identifiers(profile, identifiers)
        profiles.check_key(profile, parsed.public_key)
        leaf = profiles.leaf_profile(env.settings.ca, profile)
        stale = caa.due(env, state.authorizations, env.clock())
        if not stale:
            plan = _plan(env, account, order.id, leaf)
            _start_processing(env, conn, account, order, limited, remote_addr,
                              _intent(plan, identifiers, parsed))
    if stale:  # CAA older than caa.recheck_after_seconds: ask DNS again, outside any transaction
        caa.recheck(env, account.id, stale, methods)
        plan = _plan(env, account, order.id, leaf)
        with env.pool.connection() as conn:
            _start_processing(env, conn, account, order, limited, remote_addr,
                              _intent(plan, identifiers, parsed))
    # The intent (serial, names, validity, key) is committed: now, and only now, sign.
    try:
        issued = env.ca.sign(parsed.csr, identifiers, profile=leaf, plan=plan)
    except Exception as exc:
        _signing_failed(env, account, order.id)
        problem = _signing_problem(env, exc)
        _fail(env, order.id, problem, serial=plan.serial_hex)
        raise problem from exc
    prelint.check(env, account, order.id, issued)  # lint.enabled: refused → invalid, revoked
    cert_id = uuid.uuid4()
    mails = events.mails(env, Kind.CERTIFICATE_ISSUED, account)
    cert = NewCertificate(
        id=cert_id, serial=issued.serial_hex, account_id=account.id, der=issued.der,
        pem_chain=issued.pem_chain, names=[_name(i) for i in identifiers],
        not_before=issued.not_before, not_after=issued.not_after,
        fingerprint=issued.fingerprint_sha256, spki_sha256=issued.spki_sha256,
    )
    try:
        done = _store(env, account, order.id, cert, mails=mails)
    except BaseException:
        intents.keep_signed(env, order.id, issued)  # findable, revocable; recovery stores it
        raise
    state = OrderState(done, state.authorizations)  # all valid: checked when it was ready
    env.log.info("certificate issued", extra={"order_id": str(order.id), "serial": issued.serial_hex})
    metrics.CERTIFICATES_ISSUED.inc()
    actor = f"account:{account.id}"
    audit("order.finalized", actor=actor, order_id=order.id, certificate_id=cert_id)
    audit("certificate.issued", actor=actor, certificate_id=cert_id, serial=issued.serial_hex,
          names=",".join(_name(i) for i in identifiers), not_after=issued.not_after.isoformat())
    return state


def _recheck_policy(env: Env, allowlist: list[AllowlistRow], identifiers: list[Identifier],
                    authzs: list[AuthzRow], methods: dict[uuid.UUID, str]) -> None:
    """Issue 11 item 6: the configuration in force now, not the one the order was made under,
    decides. Identifier policy and allowlists (rejectedIdentifier), and the challenge type
    that validated each authorization must still be enabled (unauthorized); the order stays
    ready."""
    policy.check_identifiers(identifiers, env.settings.security.identifiers)
    allowlists.check_entries(allowlist, identifiers)
    enabled = set(env.settings.challenges.enabled)
    policy.raise_refusals([
        problems.unauthorized(
            f"the authorization for {caa.identifier_of(a).value} was validated by "
            f"{methods.get(a.id, 'no challenge')}, which is no longer enabled",
            identifier=caa.identifier_of(a).to_json())
        for a in authzs if methods.get(a.id) not in enabled
    ])


def _plan(env: Env, account: AccountRow, order_id: uuid.UUID, leaf: LeafProfile) -> LeafPlan:
    """The serial and validity of the leaf to sign (nothing signed yet). A CA that cannot
    issue now (an expired issuer) is serverInternal, and the order stays ready."""
    try:
        return env.ca.plan(leaf)
    except Exception as exc:
        _signing_failed(env, account, order_id)
        raise problems.server_internal() from exc


def _signing_problem(env: Env, exc: Exception) -> problems.Problem:
    """serverInternal; with a detail (and Retry-After) when an upstream CA is down, so the
    client knows a new order later may pass."""
    if isinstance(exc, CAUnavailable):
        return problems.unavailable("the upstream CA is unavailable; try again later with a "
                                    "new order", env.settings.server.unavailable_retry_after_seconds)
    return problems.server_internal()


def _signing_failed(env: Env, account: AccountRow, order_id: uuid.UUID) -> None:
    env.log.exception("signing failed", extra={"order_id": str(order_id)})
    metrics.CA_SIGNING_ERRORS.inc()
    audit("order.finalized", actor=f"account:{account.id}", outcome="failure",
          order_id=order_id, reason="signing failed")


def _intent(plan: LeafPlan, identifiers: list[Identifier], parsed: ParsedCSR) -> dict:
    """What is recorded before the CA signs (issue 11 item 5)."""
    return dict(serial=plan.serial_hex, names=[_name(i) for i in identifiers],
                not_before=plan.not_before, not_after=plan.not_after,
                spki_sha256=keys.spki_sha256(parsed.public_key))


def _start_processing(env: Env, conn: Connection, account: AccountRow, order: OrderRow,
                      limited: bool, remote_addr: str | None, intent: dict) -> None:
    """ready → processing together with recording the issuance intent, committed before
    anything is signed (orderNotReady when another finalize won). Without rate limits it is
    one statement, atomic on its own under autocommit (BEGIN/COMMIT would cost two round
    trips); with them, the certificates_per_account count is taken in the same transaction."""
    if not limited:
        _move_to_processing(conn, order, intent)
        return
    with conn.transaction():
        _move_to_processing(conn, order, intent)
        ratelimits.take_certificate(env, conn, account, remote_addr)  # refused: stays ready


def _move_to_processing(conn: Connection, order: OrderRow, intent: dict) -> None:
    if states.start_issuance(conn, order.id, **intent) is None:
        raise problems.order_not_ready("order is no longer ready")


def _store(env: Env, account: AccountRow, order_id: uuid.UUID, new: NewCertificate, *,
           mails: bool) -> OrderRow:
    """Transaction B: store the signed certificate and move the order processing → valid.

    The certificate exists already, so a database that is briefly unavailable (a restart, a
    failover) is waited for, up to STORE_DEADLINE_SECONDS, rather than leaving the order in
    processing; an attempt whose commit went through but whose answer was lost is recognised
    by its certificate id. Raises the store's Unavailable past the deadline (the order then
    stays processing until the stale-order recovery marks it invalid).
    """
    deadline = time.monotonic() + STORE_DEADLINE_SECONDS
    for attempt in range(STORE_ATTEMPTS):
        try:
            with env.pool.connection() as conn:
                if not mails:  # one statement, webhook event included: atomic on its own
                    hook = events.certificate_issued_hook(env, new, order_id)
                    return _complete(conn, order_id, new, retried=attempt > 0,
                                     announcing=hook)[1]
                with conn.transaction():  # the mail and webhook rows commit with the certificate
                    cert, done = _complete(conn, order_id, new, retried=attempt > 0)
                    if cert is not None:  # None: an earlier attempt committed them already
                        events.certificate_issued(conn, env, account, cert)
                    return done
        except db.Unavailable:
            if time.monotonic() + STORE_RETRY_SECONDS >= deadline or attempt == STORE_ATTEMPTS - 1:
                env.log.error("signed certificate not stored: the database stayed unavailable",
                              extra={"order_id": str(order_id), "serial": new.serial})
                raise
            env.log.warning("storing the certificate failed (database unavailable); retrying",
                            extra={"order_id": str(order_id), "attempt": attempt + 1})
            time.sleep(STORE_RETRY_SECONDS)
    raise AssertionError("unreachable")  # the loop returns or raises


def _complete(conn: Connection, order_id: uuid.UUID, new: NewCertificate, *, retried: bool,
              announcing: NewEvent | None = None) -> tuple[CertificateRow | None, OrderRow]:
    """Store the certificate and move the order processing → valid (with the webhook event
    `announcing`): (certificate, order), or (None, order) when an earlier attempt had
    committed this very certificate."""
    stored = states.complete_order(conn, order_id, new, announcing=announcing)
    if stored is not None:
        return stored
    if retried and (done := _stored_before(conn, order_id, new.id)) is not None:
        return None, done
    # recovered as stale meanwhile: do not hand out a certificate
    raise problems.order_not_ready("order left processing before the certificate was stored")


def _stored_before(conn: db.Connection, order_id: uuid.UUID, cert_id: uuid.UUID) -> OrderRow | None:
    """The order, when an earlier attempt of _store committed this very certificate."""
    order = order_store.get_order(conn, order_id)
    if order is not None and order.status == OrderStatus.VALID and order.certificate_id == cert_id:
        return order
    return None


def _fail(env: Env, order_id: uuid.UUID, problem: problems.Problem, *, serial: str) -> None:
    """processing → invalid after the CA refused to sign; the intent stays, abandoned."""
    with env.pool.connection() as conn, conn.transaction():
        moved = states.move_order(conn, order_id, OrderStatus.PROCESSING, OrderStatus.INVALID,
                                  error=problem.to_dict())
        if moved is not None:
            events.order_invalid(conn, env, moved, failed=True)
            intent_store.abandon(conn, serial, env.clock())


def _name(ident: Identifier) -> str:
    return ident.value
