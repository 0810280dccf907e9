"""Expiration warnings: tell an account's contacts (and certificate.expiring webhooks) before
its certificates expire, once per certificate per threshold of
notifications.expiration_warning_days, whatever the number of instances and restarts (the
certificate_expiration_notices primary key decides)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..notify import Kind
from ..store import notices
from ..store.db import Connection
from ..store.notices import ExpiringCertificate
from . import events, notifications, webhooks
from .env import Env

# Bound on batches per run; what is left waits for the next run.
MAX_BATCHES = 20


@dataclass
class ExpirationReport:
    checked: int = 0    # certificates looked at
    notices: int = 0    # notice rows inserted
    warnings: int = 0   # certificates warned (outbox rows: one per contact)


def warn_expiring(env: Env, *, max_batches: int = MAX_BATCHES) -> ExpirationReport:
    """Record notices (and enqueue warnings) for every certificate that crossed a threshold.

    Only the most urgent crossed threshold is warned about: a certificate found with 5 days
    left under [30, 14, 7, 1] gets one "7 days" warning, and notices for 30, 14 and 7 so the
    larger ones never follow. Revoked or expired certificates, accounts that are not valid or
    have no contact are skipped, unless a webhook listens to certificate.expiring. Does
    nothing when neither warning mails nor such webhooks are on.
    """
    cfg = env.settings.notifications
    report = ExpirationReport()
    thresholds = sorted(set(cfg.expiration_warning_days), reverse=True)
    mail = notifications.enabled(env, Kind.EXPIRATION_WARNING)
    if not thresholds or not (mail or env.settings.webhooks.enabled):
        return report
    now = env.clock()
    for _ in range(max_batches):
        with env.pool.connection() as conn, conn.transaction():
            hooks = webhooks.has_subscribers(env, conn, "certificate.expiring")
            if not (mail or hooks):
                break
            batch = notices.find_expiring(conn, now, thresholds, cfg.batch_size,
                                          any_contact=hooks)
            for cert in batch:
                _warn(conn, env, cert, thresholds, now, report)
        report.checked += len(batch)
        if len(batch) < cfg.batch_size:
            break
    if report.notices:
        env.log.info("expiration warnings recorded", extra={
            "certificates": report.checked, "notices": report.notices, "warnings": report.warnings,
        })
    return report


def _warn(conn: Connection, env: Env, cert: ExpiringCertificate, thresholds: list[int],
          now: datetime, report: ExpirationReport) -> None:
    # Same test as the query: whole 24-hour days, no calendar (DST) arithmetic.
    crossed = [d for d in thresholds if cert.not_after <= now + timedelta(days=d)]
    if not crossed:
        return
    # Largest first: two instances insert in the same order, so they cannot deadlock.
    inserted = {d for d in crossed if notices.record_notice(conn, cert.id, d, now)}
    report.notices += len(inserted)
    urgent = min(crossed)
    if urgent not in inserted:
        return  # another run (or instance) already warned at this threshold
    days_left = max(1, math.ceil((cert.not_after - now) / timedelta(days=1)))
    if events.certificate_expiring(conn, env, cert, threshold_days=urgent, days_left=days_left):
        report.warnings += 1
