"""maintenance table: the one-row switch that pauses new orders on every instance at once."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from .db import fetch_one


@dataclass(frozen=True)
class MaintenanceRow:
    enabled: bool
    changed_by: str | None
    changed_at: datetime


GET = """
SELECT enabled, changed_by, changed_at FROM maintenance WHERE singleton
"""

IS_ENABLED = """
SELECT enabled FROM maintenance WHERE singleton
"""

SET = """
INSERT INTO maintenance (singleton, enabled, changed_by, changed_at)
VALUES (true, %(enabled)s, %(changed_by)s, %(now)s)
ON CONFLICT (singleton) DO UPDATE
SET enabled = EXCLUDED.enabled, changed_by = EXCLUDED.changed_by,
    changed_at = EXCLUDED.changed_at
RETURNING enabled, changed_by, changed_at
"""


def get_maintenance(conn: psycopg.Connection) -> MaintenanceRow:
    """The switch (a missing row, e.g. before migration 0005, reads as off)."""
    row = fetch_one(conn, MaintenanceRow, GET, {})
    if row is None:
        return MaintenanceRow(enabled=False, changed_by=None, changed_at=datetime.fromtimestamp(0, UTC))
    return row


def is_enabled(conn: psycopg.Connection) -> bool:
    row = conn.execute(IS_ENABLED).fetchone()
    return bool(row and row[0])


def set_maintenance(
    conn: psycopg.Connection, enabled: bool, *, changed_by: str | None, now: datetime
) -> MaintenanceRow:
    row = fetch_one(conn, MaintenanceRow, SET,
                    {"enabled": enabled, "changed_by": changed_by, "now": now})
    assert row is not None
    return row
