"""What newOrder reads before it inserts (maintenance mode, allowlists, profile
restrictions), in one round trip."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg

from . import allowlists, profile_restrictions
from .allowlists import AllowlistRow
from .profile_restrictions import ProfileRestrictionRow
from .records import columns, split

# Whether maintenance mode is on, the allowlist entries that apply to the account and the
# profile restrictions that bind it: one row per pair of them (a row of NULLs for a side
# that has none; at most two restrictions, the account's own and its EAB key's). An account
# without an EAB key passes NULL as eab_kid: no allowlist entry of scope eab has an empty
# scope_id (the table's check), so NULL selects what entries_for's '' selects.
MAINTENANCE_ALLOWLIST_AND_PROFILES = f"""
SELECT m.enabled, {columns(AllowlistRow, 'l')}, {columns(ProfileRestrictionRow, 'p')}
FROM (SELECT COALESCE((SELECT enabled FROM maintenance WHERE singleton), false) AS enabled) m
LEFT JOIN ({allowlists.FOR_ACCOUNT}) l ON true
LEFT JOIN ({profile_restrictions.FOR_ACCOUNT}) p ON true
ORDER BY l.scope, l.kind, l.value, p.scope
"""


@dataclass(frozen=True)
class NewOrderChecks:
    """Maintenance mode, the account's allowlist entries (as allowlists.entries_for gives
    them) and the profile restrictions that bind it (its own, its EAB key's; by scope)."""

    maintenance: bool
    allowlist: list[AllowlistRow]
    restrictions: list[ProfileRestrictionRow]


def read(conn: psycopg.Connection, *, account_id: UUID, eab_kid: str | None) -> NewOrderChecks:
    """What newOrder checks against the database, in one statement."""
    rows = conn.execute(MAINTENANCE_ALLOWLIST_AND_PROFILES,
                        {"account_id": str(account_id), "eab_kid": eab_kid}).fetchall()
    return from_rows(rows)


def from_rows(rows: list[tuple[Any, ...]]) -> NewOrderChecks:
    """The checks from the rows of MAINTENANCE_ALLOWLIST_AND_PROFILES (or of a statement that
    selects the same columns, store.signed_reads)."""
    entries: dict[UUID, AllowlistRow] = {}
    restrictions: dict[str, ProfileRestrictionRow] = {}
    for row in rows:  # the join repeats each entry once per restriction, and the reverse
        entry, restriction = split(row[1:], AllowlistRow, ProfileRestrictionRow)
        if entry is not None:
            entries.setdefault(entry.id, entry)
        if restriction is not None:
            restrictions.setdefault(restriction.scope, restriction)
    return NewOrderChecks(bool(rows[0][0]), list(entries.values()),
                          sorted(restrictions.values(), key=lambda r: r.scope))
