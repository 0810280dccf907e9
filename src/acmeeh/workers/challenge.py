"""Challenge worker: validate again what a dead instance left in processing (RFC 8555 §7.5.1).

A client that answered a challenge waits for the server to validate it; if the instance that
started the validation died, nothing else would. Each tick finds a bounded batch of
challenges stuck in processing (or put back in line) and hands each to
`authority.recovery.requeue_challenge`, which answers it again and dispatches the validation.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .. import metrics
from ..authority import recovery
from ..authority.env import Env, ValidationQueueFull

log = logging.getLogger("acmeeh.workers.challenge")


def make_tick(env: Env) -> Callable[[], int]:
    """The loop body for `env`: returns how many challenges it re-queued."""
    cfg: Any = env.settings.challenges.background_worker

    def tick() -> int:
        metrics.CHALLENGE_WORKER_POLLS.inc()
        try:
            ids = recovery.find_stale_challenges(env, stale_seconds=cfg.stale_seconds,
                                                 limit=cfg.batch_size)
        except Exception:
            metrics.CHALLENGE_WORKER_ERRORS.inc()
            raise
        requeued = 0
        for challenge_id in ids:
            try:
                moved = recovery.requeue_challenge(env, challenge_id, stale_seconds=cfg.stale_seconds,
                                                   max_requeues=cfg.max_requeues)
            except ValidationQueueFull:  # the rest waits for a later tick
                log.warning("challenge worker: validation queue full, %d left for later",
                            len(ids) - requeued)
                break
            except Exception:  # one bad row must not block the rest of the batch
                metrics.CHALLENGE_WORKER_ERRORS.inc()
                log.exception("re-queueing a challenge failed", extra={"challenge_id": str(challenge_id)})
                continue
            requeued += moved is not None
        if ids:
            log.info("challenge worker: %d found, %d re-queued", len(ids), requeued)
        return requeued

    return tick
