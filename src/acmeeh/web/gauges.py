"""Gauges computed when Prometheus scrapes: the CA backend check, the CRL's freshness and the
expiry backlog.

They describe the whole installation (one CA, one database), not the worker that answers, so
in gunicorn's multiprocess mode the most recently written value wins (mostrecent). Each is
written on every scrape, so none is older than the scrape that shows it. When the database
does not answer, the database-derived ones are NaN (unknown) rather than a stale number.
The per-process pool gauges are kept by workers.pool_gauges.
"""
from __future__ import annotations

import logging
import math

from .. import metrics
from ..authority.env import Env
from ..store import crls, db, housekeeping

log = logging.getLogger("acmeeh.web.gauges")

# A scrape must stay quick when the pool is exhausted (Prometheus' scrape timeout is 10 s).
DATABASE_TIMEOUT_SECONDS = 1.0
BACKLOG_KINDS = ("orders", "authorizations")


def refresh(env: Env) -> None:
    """Set the scrape-time gauges from the CA backend and the database."""
    metrics.CA_BACKEND_UP.set(1 if _ca_ok(env) else 0)
    try:
        with env.pool.connection(timeout=DATABASE_TIMEOUT_SECONDS) as conn:
            now = env.clock()
            info = crls.latest_crl_info(conn) if env.settings.crl.enabled else None
            backlog = housekeeping.expiry_backlog(conn, now)
    except db.DatabaseError as exc:
        log.warning("metrics: database unavailable: %s", type(exc).__name__)
        _unknown()
        return
    if not env.settings.crl.enabled:
        metrics.CRL_NEXT_UPDATE.set(math.nan)
        metrics.CRL_AGE.set(math.nan)
    elif info is None:  # enabled but never built: as bad as stale once it lasts
        metrics.CRL_NEXT_UPDATE.set(-math.inf)
        metrics.CRL_AGE.set(math.nan)
    else:
        metrics.CRL_NEXT_UPDATE.set((info.next_update - now).total_seconds())
        metrics.CRL_AGE.set((now - info.this_update).total_seconds())
    for kind in BACKLOG_KINDS:
        count, oldest = backlog[kind]
        metrics.EXPIRY_BACKLOG.labels(kind=kind).set(count)
        metrics.EXPIRY_BACKLOG_OLDEST.labels(kind=kind).set(
            (now - oldest).total_seconds() if oldest is not None else 0)


def _ca_ok(env: Env) -> bool:
    try:
        env.ca.check()
    except Exception as exc:  # noqa: BLE001 - any failure means "cannot sign"; detail to the log
        log.warning("metrics: CA backend check failed: %s", exc)
        return False
    return True


def _unknown() -> None:
    for gauge in (metrics.CRL_NEXT_UPDATE, metrics.CRL_AGE):
        gauge.set(math.nan)
    for kind in BACKLOG_KINDS:
        metrics.EXPIRY_BACKLOG.labels(kind=kind).set(math.nan)
        metrics.EXPIRY_BACKLOG_OLDEST.labels(kind=kind).set(math.nan)
