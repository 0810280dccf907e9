"""Keyset pagination for admin lists: newest first by (created_at, key), no OFFSET."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg import sql

# The tie-breaker of each kind of key, compared in its own type (uuid byte order, text in the
# "C" collation) so that ORDER BY and the cursor comparison always agree.
UUID_KEY = ("{p}id", "%(after_key)s::uuid")
KID_KEY = ('{p}kid COLLATE "C"', '%(after_key)s COLLATE "C"')


@dataclass(frozen=True)
class Page:
    """`limit` rows after the position (created_at, key) of the previous page's last row.

    `key` is the row's unique tie-breaker (id or kid) as text. Queries fetch limit + 1 rows
    so the caller learns whether another page follows.
    """

    limit: int
    after_created: datetime | None = None
    after_key: str | None = None


def order_by(key: tuple[str, str] = UUID_KEY, *, alias: str = "") -> sql.Composable:
    """The ORDER BY of a keyset page (filters.Where.after): newest first. `key` is one of the
    keys above (SQL text of this package, never a value)."""
    prefix = f"{alias}." if alias else ""
    return sql.SQL(f"ORDER BY {prefix}created_at DESC, {key[0].format(p=prefix)} DESC")
