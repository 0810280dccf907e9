"""CRL publication (RFC 5280 §5): rebuild one at a time, serve the newest, report freshness.

A build takes the builder row lock (store.crls.lock_builder), so builders on every instance
(the worker's leader, `acmeeh crl rebuild`, an on-demand build) run one after the other and
each CRL number is higher than every earlier one. A rebuild is due when there is no CRL,
when the revocations changed since the last build (their count or newest time differ from what
that build saw), when `crl.rebuild_interval_seconds` passed, or when the CRL is stale.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .. import metrics
from ..issuance.crl import RevokedEntry, build_crl
from ..issuance.signer import Signer
from ..store import crls as crl_store
from ..store import revocation_status as status_store
from ..store.crls import CRLRow
from ..store.db import Connection
from .env import Env

# CRLs kept in the database (only the newest is served; the rest help an investigation).
KEEP = 20


def load_signer(env: Env) -> Signer:
    """The CA certificate and key that sign CRLs (CAError when unreadable)."""
    return env.ca.status_signer(env.settings.crl.hash)


def _due(conn: Connection, env: Env, now: datetime) -> str | None:
    info = crl_store.latest_crl_info(conn)
    if info is None:
        return "missing"
    totals = status_store.revocation_totals(conn)
    if (totals.total, totals.newest) != (info.revoked_total, info.revoked_newest):
        return "revocation"
    if now >= info.next_update:
        return "stale"
    if now >= info.this_update + timedelta(seconds=env.settings.crl.rebuild_interval_seconds):
        return "interval"
    return None


def due(env: Env) -> str | None:
    """Why a new CRL is needed now ("missing", "revocation", "stale", "interval"), or None."""
    with env.pool.connection() as conn:
        return _due(conn, env, env.clock())


def rebuild(env: Env, signer: Signer, *, force: bool = True) -> CRLRow:
    """Build, sign and store the next CRL; return it.

    With `force=False` nothing is built when no rebuild is due once the lock is held (another
    builder just did it) and the newest CRL is returned instead.
    """
    now = env.clock()
    cfg = env.settings.crl
    with env.pool.connection() as conn, conn.transaction():
        crl_store.lock_builder(conn)
        reason = "forced" if force else _due(conn, env, now)
        if reason is None:
            latest = crl_store.latest_crl(conn)
            if latest is not None:
                return latest
            reason = "missing"
        previous = crl_store.latest_crl_info(conn)
        this_update = now.replace(microsecond=0)
        if previous is not None and previous.this_update > this_update:
            # A builder on an instance whose clock is ahead went first: never go back in time.
            this_update = previous.this_update
        next_update = this_update + timedelta(seconds=cfg.next_update_seconds)
        totals, revoked = status_store.revoked_snapshot(conn, unexpired_at=this_update)
        number = crl_store.take_number(conn)
        entries = [RevokedEntry(int(r.serial, 16), r.revoked_at, r.revocation_reason) for r in revoked]
        der = build_crl(signer, entries, number=number, this_update=this_update, next_update=next_update)
        row = crl_store.insert_crl(
            conn, number=number, der=der, this_update=this_update, next_update=next_update,
            entries=len(entries), revoked_total=totals.total, revoked_newest=totals.newest,
        )
        crl_store.prune_crls(conn, keep=KEEP)
    metrics.CRL_BUILDS.labels(reason=reason).inc()
    env.log.info("CRL built", extra={"crl_number": number, "entries": len(entries), "reason": reason})
    return row


def current(env: Env, signer: Signer) -> CRLRow:
    """The newest CRL, built first when there is none or it is past its nextUpdate."""
    with env.pool.connection() as conn:
        row = crl_store.latest_crl(conn)
    if row is None or env.clock() >= row.next_update:
        row = rebuild(env, signer, force=False)
    return row


def status(env: Env) -> dict[str, Any]:
    """Freshness for /healthz: status "ok" | "stale" (past nextUpdate) | "missing" | "disabled"."""
    if not env.settings.crl.enabled:
        return {"status": "disabled", "stale": False, "number": None, "next_update": None}
    with env.pool.connection() as conn:
        info = crl_store.latest_crl_info(conn)
    if info is None:
        return {"status": "missing", "stale": False, "number": None, "next_update": None}
    stale = env.clock() >= info.next_update
    return {
        "status": "stale" if stale else "ok",
        "stale": stale,
        "number": info.number,
        "this_update": info.this_update.isoformat(),
        "next_update": info.next_update.isoformat(),
    }
