"""Expiration worker (advisory lock 712002): records expiration warnings for certificates that
crossed a threshold of notifications.expiration_warning_days; the delivery worker sends them.

acmeeh_expiration_warnings_sent_total counts warning mails when the SMTP server accepted them
(in authority.notifications.deliver_due), not when they are recorded here.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from .. import metrics
from ..authority import expiration
from ..authority.env import Env

log = logging.getLogger("acmeeh.workers.expiration")


def make_tick(env: Env) -> Callable[[], int]:
    """The loop body for `env`: returns how many certificates were warned about this run.

    Errors count in acmeeh_expiration_worker_errors_total and propagate to the loop, which
    logs them; the next run retries (notices commit per batch, so nothing is warned twice).
    """

    def tick() -> int:
        try:
            report = expiration.warn_expiring(env)
        except Exception:
            metrics.EXPIRATION_WORKER_ERRORS.inc()
            raise
        log.debug("expiration check: %d certificates, %d notices, %d warnings",
                  report.checked, report.notices, report.warnings)
        return report.warnings

    return tick
