"""PostgreSQL's own counters around a run: transactions, rows, WAL flushes and sequential
scans per issuance.

Backends publish their statistics at most about once a second, so `sample` waits that long
first; the figures are for the whole cluster's WAL and for one database's transactions and
tables. Per table, `seq_scan:<table>` and `seq_rows:<table>` count sequential scans and the
rows they read: a hot query without a usable index shows up there.
"""

from __future__ import annotations

import time

import psycopg
from psycopg.conninfo import conninfo_to_dict

FLUSH_WAIT = 1.2  # seconds: let backends publish pending statistics

_DATABASE = (
    "SELECT xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted,"
    " tup_updated, tup_deleted FROM pg_stat_database WHERE datname = %s"
)
_DB_FIELDS = (
    "commits",
    "rollbacks",
    "rows_returned",
    "rows_fetched",
    "rows_inserted",
    "rows_updated",
    "rows_deleted",
)
_WAL = "SELECT wal_records, wal_bytes FROM pg_stat_wal"
_WAL_FSYNCS = "SELECT coalesce(sum(fsyncs), 0) FROM pg_stat_io WHERE object = 'wal'"
_TABLES = "SELECT relname, seq_scan, seq_tup_read FROM pg_stat_user_tables"


def sample(dsn: str) -> dict[str, float]:
    """Current counters (after a short wait so they are published); {} if unavailable."""
    time.sleep(FLUSH_WAIT)
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
            name = conninfo_to_dict(dsn).get("dbname") or conn.info.dbname
            out: dict[str, float] = {}
            row = conn.execute(_DATABASE, (name,)).fetchone()
            if row:
                out.update(zip(_DB_FIELDS, (float(v or 0) for v in row), strict=True))
            wal = conn.execute(_WAL).fetchone()
            if wal:
                out["wal_records"], out["wal_bytes"] = float(wal[0]), float(wal[1])
            for table, scans, read in conn.execute(_TABLES).fetchall():
                out[f"seq_scan:{table}"], out[f"seq_rows:{table}"] = (
                    float(scans or 0),
                    float(read or 0),
                )
            try:
                fsyncs = conn.execute(_WAL_FSYNCS).fetchone()
                out["wal_fsyncs"] = float(fsyncs[0]) if fsyncs else 0.0
            except psycopg.Error:  # pg_stat_io has WAL rows from PostgreSQL 18 on
                pass
            return out
    except psycopg.Error:
        return {}


def per_issuance(
    before: dict[str, float], after: dict[str, float], issuances: int
) -> dict[str, float]:
    if not issuances:
        return {}
    return {k: (after[k] - before[k]) / issuances for k in after if k in before}


def split_scans(per: dict[str, float]) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """(the other counters, {table: (sequential scans, rows read)} for tables scanned, most
    rows read first)."""
    counters = {k: v for k, v in per.items() if not k.startswith(("seq_scan:", "seq_rows:"))}
    tables = {
        k.split(":", 1)[1]: (v, per.get("seq_rows:" + k.split(":", 1)[1], 0.0))
        for k, v in per.items()
        if k.startswith("seq_scan:") and v > 0
    }
    return counters, dict(sorted(tables.items(), key=lambda kv: -kv[1][1]))
