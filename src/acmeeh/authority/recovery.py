"""Recovery and expiry: move work that was left behind, and state that ran out of time.

The background workers call these; each move is a compare-and-set through `states`, so a
recovery that races a live request (or a second worker during a leadership hand-over) moves
nothing twice. Finders return bounded lists of ids; movers take one id and report what they did.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from .. import metrics
from ..protocol import problems
from ..protocol.status import AuthzStatus, ChallengeStatus, OrderStatus
from ..store import authzs as authz_store
from ..store import challenges as challenge_store
from ..store import housekeeping
from ..store import orders as order_store
from ..store.records import ChallengeRow
from . import states
from .authorizations import invalidate_orders
from .challenges import record
from .env import Env, ValidationQueueFull
from .orders import OrderState, refresh


# --- challenges (RFC 8555 §7.5.1: a responded challenge is validated by the server) --------
def find_stale_challenges(env: Env, *, stale_seconds: float, limit: int) -> list[uuid.UUID]:
    """Challenges that should be validated again: processing for longer than `stale_seconds`
    (the instance validating them died), or answered and put back in line (pending, attempts > 0)."""
    now = env.clock()
    with env.pool.connection() as conn:
        stale = housekeeping.find_stale_challenges(conn, now - timedelta(seconds=stale_seconds), limit)
        back = housekeeping.find_requeued_challenges(conn, now, limit)
    return list(dict.fromkeys(stale + back))[:limit]


def requeue_challenge(
    env: Env, challenge_id: uuid.UUID, *, stale_seconds: float, max_requeues: int
) -> ChallengeRow | None:
    """Put a stale challenge back in line and answer it again: processing → pending → processing,
    then dispatch its validation. Returns the challenge as moved, or None when it needed nothing
    (finished meanwhile, no longer stale, authorization no longer pending).

    A challenge answered more than `max_requeues` times is given up on: it becomes invalid
    with serverInternal (a validation that keeps dying must not loop for ever). Raises
    ValidationQueueFull, the challenge put back in line, when this instance's queue is full.
    """
    now = env.clock()
    stale_before = now - timedelta(seconds=stale_seconds)
    with env.pool.connection() as conn, conn.transaction():
        challenge = challenge_store.get_challenge(conn, challenge_id)
        if challenge is None:
            return None
        if challenge.status == ChallengeStatus.PROCESSING:
            states.check_challenge_move(ChallengeStatus.PROCESSING, ChallengeStatus.PENDING)
            if not housekeeping.requeue_challenge(conn, challenge.id, stale_before):
                return None
        elif challenge.status != ChallengeStatus.PENDING or challenge.attempts == 0:
            return None
        authz = authz_store.get_authorization(conn, challenge.authorization_id)
        if authz is None or states.authz_status(authz, now) != AuthzStatus.PENDING:
            return None  # stays pending; authorization expiry or the client ends it
        states.check_challenge_move(ChallengeStatus.PENDING, ChallengeStatus.PROCESSING)
        moved = challenge_store.set_processing(conn, challenge.id, now)
    if moved is None:
        return None
    if challenge.attempts > max_requeues:
        env.log.error("challenge validation never completed; giving up",
                      extra={"challenge_id": str(challenge.id), "attempts": challenge.attempts})
        record(env, moved, authz, ok=False, problem=problems.server_internal(), records=[])
        return _reload(env, challenge.id) or moved
    try:
        env.dispatch(moved.id)
    except ValidationQueueFull:  # this instance is busy: back in line for a later tick
        with env.pool.connection() as conn:
            challenge_store.unanswer(conn, moved.id)
        raise
    env.log.info("stale challenge re-queued",
                 extra={"challenge_id": str(challenge.id), "attempts": moved.attempts})
    return moved


def _reload(env: Env, challenge_id: uuid.UUID) -> ChallengeRow | None:
    with env.pool.connection() as conn:
        return challenge_store.get_challenge(conn, challenge_id)


# --- nonces (RFC 8555 §6.5) ---------------------------------------------------------------
def purge_nonces(env: Env, *, limit: int) -> int:
    """Delete up to `limit` expired nonces; the count deleted."""
    with env.pool.connection() as conn:
        return housekeeping.delete_expired_nonces(conn, env.clock(), limit)


# --- orders (RFC 8555 §7.1.6) -------------------------------------------------------------
def find_expired_orders(env: Env, *, limit: int) -> list[uuid.UUID]:
    with env.pool.connection() as conn:
        return housekeeping.find_expired_open_orders(conn, env.clock(), limit)


def expire_order(env: Env, order_id: uuid.UUID) -> bool:
    """Apply the status rule to a pending/ready order past `expires` (→ invalid with an error)."""
    with env.pool.connection() as conn, conn.transaction():
        found = order_store.get_with_authorizations(conn, order_id)
        if found is None or found[0].status not in (OrderStatus.PENDING, OrderStatus.READY):
            return False
        return refresh(env, conn, OrderState(*found)).order.status == OrderStatus.INVALID


def find_stale_processing_orders(env: Env, *, threshold_seconds: float, limit: int) -> list[uuid.UUID]:
    older_than = env.clock() - timedelta(seconds=threshold_seconds)
    with env.pool.connection() as conn:
        return housekeeping.find_stale_processing_orders(conn, older_than, limit)


# --- authorizations (RFC 8555 §7.1.6: pending/valid past expires → expired) ---------------
def find_expired_authorizations(env: Env, *, limit: int) -> list[uuid.UUID]:
    with env.pool.connection() as conn:
        return [i for i, _ in housekeeping.find_expired_authorizations(conn, env.clock(), limit)]


def expire_authorization(env: Env, authz_id: uuid.UUID) -> bool:
    """pending|valid → expired once past `expires`; orders still waiting on it become invalid."""
    now = env.clock()
    with env.pool.connection() as conn, conn.transaction():
        authz = authz_store.lock_authorization(conn, authz_id)
        if authz is None or states.authz_status(authz, now) != AuthzStatus.EXPIRED \
                or authz.status == AuthzStatus.EXPIRED:
            return False
        unvalidated = 0
        if authz.status == AuthzStatus.PENDING:
            unvalidated = housekeeping.count_pending_challenges(conn, authz_id)
        moved = states.move_authz(conn, authz_id, authz.status, AuthzStatus.EXPIRED)
        if moved is None:
            return False
        invalidate_orders(conn, env, moved, f"authorization for {moved.identifier_value} expired")
    if unvalidated:
        metrics.CHALLENGES_EXPIRED.inc(unvalidated)
    return True


# --- retention ----------------------------------------------------------------------------
def purge_old_orders(env: Env, *, days: int, limit: int) -> int:
    """Delete orders without a certificate that expired more than `days` ago."""
    with env.pool.connection() as conn:
        return housekeeping.delete_old_orders(conn, _days_ago(env, days), limit)


def purge_old_authorizations(env: Env, *, days: int, limit: int) -> int:
    """Delete unlinked authorizations (and their challenges) expired more than `days` ago."""
    with env.pool.connection() as conn:
        return housekeeping.delete_old_authorizations(conn, _days_ago(env, days), limit)


def _days_ago(env: Env, days: int) -> datetime:
    return env.clock() - timedelta(days=days)
