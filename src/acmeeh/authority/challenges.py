"""Challenges (RFC 8555 §7.5.1, §8): respond, then validate off the request thread."""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .. import metrics
from ..protocol import jws, problems
from ..protocol.status import AuthzStatus, ChallengeStatus, IdentifierType
from ..store import authzs as authz_store
from ..store import challenges as challenge_store
from ..store.records import AccountRow, AuthzRow, ChallengeRow
from . import caa, states
from .authorizations import invalidate_orders
from .env import Env, ValidationQueueFull


@dataclass(frozen=True)
class ChallengeState:
    challenge: ChallengeRow
    authz: AuthzRow


def _owned(account: AccountRow, found: tuple[ChallengeRow, AuthzRow] | None
           ) -> tuple[ChallengeRow, AuthzRow]:
    """The challenge and its authorization as read, if the account's (404 otherwise)."""
    if found is None or found[1].account_id != account.id:
        raise problems.not_found()
    return found


def _load(
    conn, account: AccountRow, challenge_id: uuid.UUID, *, lock: bool = False
) -> tuple[ChallengeRow, AuthzRow]:
    """The account's challenge and its authorization (404 for anyone else's)."""
    return _owned(account, challenge_store.get_with_authorization(conn, challenge_id, lock=lock))


def get_challenge(env: Env, account: AccountRow, challenge_id: uuid.UUID) -> ChallengeState:
    with env.pool.connection() as conn:
        challenge, authz = _load(conn, account, challenge_id)
    return ChallengeState(challenge, authz)


def challenge_state(account: AccountRow,
                    found: tuple[ChallengeRow, AuthzRow] | None) -> ChallengeState:
    """The account's challenge as read with the signed request (404 when None or another
    account's)."""
    return ChallengeState(*_owned(account, found))


def _answerable(challenge: ChallengeRow, authz: AuthzRow, now: datetime) -> bool:
    """False when the challenge is no longer pending (answering again returns its state);
    malformed when its authorization is no longer pending."""
    if challenge.status != ChallengeStatus.PENDING:
        return False
    if states.authz_status(authz, now) != AuthzStatus.PENDING:
        raise problems.malformed(f"authorization is {states.authz_status(authz, now)}")
    states.check_challenge_move(challenge.status, ChallengeStatus.PROCESSING)
    return True


def respond(env: Env, account: AccountRow,
            found: tuple[ChallengeRow, AuthzRow] | None) -> ChallengeState:
    """The client says it is ready (RFC 8555 §7.5.1): pending → processing, then validate.
    `found` is the challenge and its authorization as read with the signed request (404
    when None or another account's).

    Responding again to a challenge that is already processing or finished is not an error;
    the current state is returned. The challenge stays pending, and the answer is
    rateLimited (429) when the account has challenges.max_pending_per_account validations
    under way, or 503 when this process's validation queue is full; both carry Retry-After.
    """
    now = env.clock()
    challenge, authz = _owned(account, found)
    if not _answerable(challenge, authz, now):
        return ChallengeState(challenge, authz)
    if env.settings.challenges.auto_accept:
        return _trusted(env, account, challenge, authz, now)
    return _validating(env, account, challenge, authz, now)


def _trusted(env: Env, account: AccountRow, challenge: ChallengeRow, authz: AuthzRow,
             now: datetime) -> ChallengeState:
    """Trusted-network mode (config refuses it without an identifier allow-list): no network
    check, but the outcome is stored exactly as a real validation's would be. Accepted, it is
    one statement (states.accept_challenge, atomic on its own); refused by CAA, it is recorded
    as a failed validation, in one transaction with the rows locked, as record() does."""
    refusal, caa_checked = _auto_caa(env, account, challenge, authz, now)
    with env.pool.connection() as conn:
        if refusal is None:  # pending → processing → valid, with its authorization and orders
            accepted = _accept(env, conn, challenge, authz, caa_checked)
            if accepted is not None:
                return ChallengeState(accepted, authz)
        else:
            with conn.transaction():
                locked, locked_authz = _load(conn, account, challenge.id, lock=True)
                moved = (challenge_store.set_processing(conn, locked.id, now)
                         if _answerable(locked, locked_authz, now) else None)
                if moved is not None:
                    done = _record_failure(env, conn, moved, locked_authz, problem=refusal,
                                           records=[])
                    return ChallengeState(done or moved, locked_authz)
    return get_challenge(env, account, challenge.id)  # a concurrent answer came first


def _validating(env: Env, account: AccountRow, challenge: ChallengeRow, authz: AuthzRow,
                now: datetime) -> ChallengeState:
    """pending → processing is the only write, atomic on its own (record() re-reads the
    authorization under a lock before moving it); the cap is part of the compare-and-set.
    Then the validation is queued."""
    cfg = env.settings.challenges
    with env.pool.connection() as conn:
        moved = challenge_store.answer(conn, challenge.id, now, account_id=account.id,
                                       max_pending=cfg.max_pending_per_account)
    if moved is None:  # a concurrent respond won the compare-and-set, or the cap refused
        state = get_challenge(env, account, challenge.id)
        if state.challenge.status == ChallengeStatus.PENDING:
            metrics.RATE_LIMITED.labels(limit="pending_validations_per_account").inc()
            raise problems.rate_limited(
                f"this account has {cfg.max_pending_per_account} validations under way; answer"
                " this challenge again once some have finished", _busy_retry_after(env))
        return state
    try:
        env.dispatch(moved.id)
    except ValidationQueueFull:
        _put_back(env, moved.id)
        metrics.VALIDATIONS_REFUSED.inc()
        raise problems.unavailable("too many validations in progress; answer this challenge"
                                   " again later", _busy_retry_after(env)) from None
    return ChallengeState(moved, authz)


def _busy_retry_after(env: Env) -> int:
    return env.settings.server.unavailable_retry_after_seconds


def _put_back(env: Env, challenge_id: uuid.UUID) -> None:
    """processing → pending for a challenge whose validation could not be queued (the answer
    is undone, so the client can answer it again)."""
    states.check_challenge_move(ChallengeStatus.PROCESSING, ChallengeStatus.PENDING)
    with env.pool.connection() as conn:
        challenge_store.unanswer(conn, challenge_id)


def keep_alive(env: Env, challenge_ids: Iterable[uuid.UUID]) -> int:
    """Renew processing_since of challenges this instance is validating or will validate
    (queued, waiting for a retry), so the stale-challenge recovery leaves them alone."""
    with env.pool.connection() as conn:
        return challenge_store.keep_alive(conn, list(challenge_ids), env.clock())


def _auto_caa(env: Env, account: AccountRow, challenge: ChallengeRow, authz: AuthzRow,
              now) -> tuple[problems.Problem | None, object]:
    """Trusted-network mode skips the proof of control, not CAA: check it before the rows are
    locked (it may ask DNS). Returns (refusal, time of a passed check)."""
    if not env.settings.caa.enabled:
        return None, None
    if challenge.status != ChallengeStatus.PENDING:
        return None, None  # nothing will be recorded
    refusal = caa.check(env, account.id, caa.identifier_of(authz), challenge.type)
    return refusal, (now if refusal is None and authz.identifier_type == IdentifierType.DNS
                     else None)


def validate(env: Env, challenge_id: uuid.UUID) -> None:
    """Prove control for a processing challenge and record the outcome (worker side).

    Network IO happens outside any transaction; the result then moves challenge,
    authorization and orders together in one transaction. A transient failure (connection
    refused, timeout, DNS server failure) is tried again later (RFC 8555 §8.2) while
    challenges.max_attempts and the authorization's lifetime allow: the challenge stays
    processing with the failure in its error field.
    """
    with env.pool.connection() as conn:
        found = challenge_store.get_for_validation(conn, challenge_id)
    if found is None or found[0].status != ChallengeStatus.PROCESSING:
        return
    challenge, authz, thumbprint = found
    ident = caa.identifier_of(authz)
    key_authz = jws.key_authorization_for(challenge.token, thumbprint)
    caa_checked = None
    try:
        result = env.validator.validate(challenge.type, ident, challenge.token, key_authz)
        ok, problem, records = result.ok, result.problem, list(result.records)
        transient = result.transient
        if ok:  # RFC 8659: control is proven; may this CA issue for the name at all?
            problem = caa.check(env, authz.account_id, ident, challenge.type)
            ok = problem is None  # a CAA refusal, a failed lookup included, is final
            if ok and env.settings.caa.enabled and ident.type == IdentifierType.DNS:
                caa_checked = env.clock()
    except Exception:  # a validator bug must not leave the challenge stuck in processing
        env.log.exception("validation crashed", extra={"challenge_id": str(challenge_id)})
        ok, problem, records, transient = False, problems.server_internal(), [], False
    if transient and _retry_later(env, challenge, authz, problem, records):
        return
    record(env, challenge, authz, ok=ok, problem=problem, records=records,
           caa_checked_at=caa_checked)


def retry_delay(*, retries: int, max_attempts: int, backoff: float, now: datetime,
                expires: datetime) -> float | None:
    """Seconds until the next attempt after a transient failure, or None to give up: after
    `max_attempts` attempts in all, or when the next one would come after `expires` (the
    authorization's end). The wait doubles from `backoff` with each retry."""
    if retries + 1 >= max_attempts:
        return None
    delay = backoff * 2 ** retries
    if now + timedelta(seconds=delay) >= expires:
        return None
    return delay


def _retry_later(env: Env, challenge: ChallengeRow, authz: AuthzRow, problem, records) -> bool:
    """Keep the challenge processing with the failure shown, and schedule the next attempt."""
    cfg, now = env.settings.challenges, env.clock()
    delay = retry_delay(retries=challenge.retries, max_attempts=cfg.max_attempts,
                        backoff=cfg.retry_backoff_seconds, now=now, expires=authz.expires)
    if delay is None:
        return False
    with env.pool.connection() as conn:
        moved = challenge_store.retry_later(conn, challenge.id, now=now,
                                            retry_at=now + timedelta(seconds=delay),
                                            error=_error_json(problem, authz), records=records)
    if moved is None:
        return True  # finished meanwhile: nothing to retry, nothing to record
    metrics.CHALLENGE_RETRIES.labels(type=challenge.type).inc()
    env.log.info("challenge validation failed, trying again in %.1fs", delay,
                 extra={"challenge_id": str(challenge.id), "attempt": moved.retries})
    env.dispatch(challenge.id, delay)
    return True


def record(env: Env, challenge: ChallengeRow, authz: AuthzRow, *, ok: bool, problem,
           records, caa_checked_at=None) -> ChallengeRow | None:
    """Store a validation outcome and move the authorization and its orders accordingly
    (`caa_checked_at`: when CAA allowed issuance, stored with a valid authorization). A pass
    is one statement (states.pass_challenge, atomic on its own); a failure is one transaction
    with the authorization locked.

    Returns the finished challenge, or None when it was no longer processing.
    """
    if ok:
        now = env.clock()
        valid_for = timedelta(seconds=env.settings.order.valid_authz_lifetime_seconds)
        with env.pool.connection() as conn:
            passed = states.pass_challenge(conn, challenge.id, authz.id, now=now,
                                           expires=now + valid_for, records=records,
                                           caa_checked_at=caa_checked_at)
        if passed is None:
            return None
        _finished(env, challenge, ChallengeStatus.VALID)
        return passed[0]
    with env.pool.connection() as conn, conn.transaction():
        locked = authz_store.lock_authorization(conn, authz.id)
        if locked is None:
            return None
        return _record_failure(env, conn, challenge, locked, problem=problem, records=records)


def _record_failure(env: Env, conn, challenge: ChallengeRow, authz: AuthzRow, *, problem,
                    records) -> ChallengeRow | None:
    """A failed validation inside the caller's transaction, `authz` being locked and freshly
    read: the challenge processing → invalid, its authorization (when pending) and orders
    invalid with it."""
    now = env.clock()
    to = ChallengeStatus.INVALID
    states.check_challenge_move(ChallengeStatus.PROCESSING, to)
    error = _error_json(problem, authz)
    done = challenge_store.finish(conn, challenge.id, to_status=to, now=now, error=error,
                                  records=records)
    if done is None:
        return None
    _finished(env, challenge, to)
    if authz.status != AuthzStatus.PENDING:
        return done
    moved = states.move_authz(conn, authz.id, AuthzStatus.PENDING, AuthzStatus.INVALID)
    if moved is not None:
        invalidate_orders(conn, env, moved, f"validation of {authz.identifier_value} failed: "
                                            f"{problem.detail}", validation_error=error)
    return done


def _accept(env: Env, conn, challenge: ChallengeRow, authz: AuthzRow,
            caa_checked_at) -> ChallengeRow | None:
    """Trusted-network mode: the answered challenge is valid at once, stored as record()
    stores a passed validation (one statement, outside any transaction)."""
    now = env.clock()
    valid_for = timedelta(seconds=env.settings.order.valid_authz_lifetime_seconds)
    passed = states.accept_challenge(conn, challenge.id, authz.id, now=now,
                                     expires=now + valid_for, caa_checked_at=caa_checked_at)
    if passed is None:
        return None
    _finished(env, challenge, ChallengeStatus.VALID)
    return passed[0]


def _finished(env: Env, challenge: ChallengeRow, to: ChallengeStatus) -> None:
    metrics.CHALLENGES_VALIDATED.labels(type=challenge.type, result=str(to)).inc()
    env.log.info("challenge %s", to, extra={"challenge_id": str(challenge.id), "type": challenge.type})


def _error_json(problem, authz: AuthzRow) -> dict:
    """The challenge's error field: the problem, naming the identifier (RFC 8555 §7.1.5)."""
    return problems.Problem(problem.type, problem.detail, problem.status,
                            identifier=_ident_json(authz)).to_dict()


def _ident_json(authz: AuthzRow) -> dict[str, str]:
    return {"type": authz.identifier_type, "value": authz.identifier_value}
