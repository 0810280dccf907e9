"""Drain on shutdown: put back in line the challenges this instance was still validating.

A client that answered a challenge waits for the server to validate it (RFC 8555 §7.5.1).
When an instance stops before its validations finish, each of those challenges moves
processing → pending (a compare-and-set, so one that finished meanwhile is left alone). The
challenge worker of any instance then finds it (pending, attempts > 0) and validates it
again, and a client that polls meanwhile sees `pending`, never a challenge stuck in
`processing` until `stale_seconds` pass.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from uuid import UUID

from ..protocol.status import ChallengeStatus
from ..store import housekeeping
from . import states
from .env import Env

# Any processing_since is "before" this far ahead: the move does not wait for staleness.
_ANY_AGE = timedelta(days=3650)
# Challenges moved per transaction (a process validates at most a few hundred at once).
_BATCH = 100


def release_challenges(env: Env, challenge_ids: Iterable[UUID]) -> list[UUID]:
    """Move each challenge still in processing back to pending; return those moved.

    Raises the store's DatabaseError when the database is unreachable (the challenges then
    stay in processing and the challenge worker re-queues them once they are stale).
    """
    states.check_challenge_move(ChallengeStatus.PROCESSING, ChallengeStatus.PENDING)
    ids = list(dict.fromkeys(challenge_ids))
    moved: list[UUID] = []
    before = env.clock() + _ANY_AGE
    for start in range(0, len(ids), _BATCH):
        with env.pool.connection() as conn, conn.transaction():
            moved += [cid for cid in ids[start:start + _BATCH]
                      if housekeeping.requeue_challenge(conn, cid, before)]
    if ids:
        env.log.info("shutdown: challenges put back in line",
                     extra={"in_flight": len(ids), "released": len(moved)})
    return moved
