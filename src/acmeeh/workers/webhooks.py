"""Webhook worker (advisory lock 712007): POSTs due webhook deliveries, signed, and records
each outcome (authority.webhooks.deliver_due). Only this worker talks to receivers, so a slow
or dead receiver never slows an ACME request."""
from __future__ import annotations

import logging
from collections.abc import Callable

from ..authority import webhooks
from ..authority.env import Env
from ..notify.webhook import Sender
from ..store.webhooks import DueDelivery

log = logging.getLogger("acmeeh.workers.webhooks")

# Bound on batches per tick; a full backlog drains over several ticks.
MAX_BATCHES = 10


class Deliverer:
    """Sends deliveries with `sender` (the settings' network policy and timeout by default)."""

    def __init__(self, env: Env, *, sender: Sender | None = None,
                 max_batches: int = MAX_BATCHES) -> None:
        self.env = env
        self.sender = sender or webhooks.sender(env)
        self.max_batches = max_batches

    def post(self, due: DueDelivery) -> int:
        row = due.delivery
        headers = {"ACMEEH-Event": row.event, "ACMEEH-Event-Id": str(row.event_id),
                   "ACMEEH-Delivery": str(row.id)}
        return self.sender.post(due.url, webhooks.body_of(row), secret=due.secret,
                                headers=headers)

    def tick(self) -> int:
        """Deliver due rows, batch after batch (bounded); how many were delivered."""
        size = self.env.settings.webhooks.batch_size
        delivered = failed = 0
        for _ in range(self.max_batches):
            report = webhooks.deliver_due(self.env, self.post, limit=size)
            delivered += len(report.done)
            failed += len(report.failed) + len(report.given_up)
            if report.claimed < size:
                break
        if delivered or failed:
            log.info("webhooks: %d delivered, %d failed", delivered, failed)
        return delivered


def make_tick(env: Env) -> Callable[[], int]:
    return Deliverer(env).tick
