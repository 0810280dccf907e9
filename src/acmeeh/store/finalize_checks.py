"""What finalize reads before it signs (RFC 8555 §7.4, §11.1, §7.6), in one round trip."""
from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import psycopg

from .allowlists import FOR_ACCOUNT, AllowlistRow
from .blocked_keys import KeyUses
from .records import columns, split

# Is the CSR's key some account's key (any account, any status), is it blocked, which
# challenge type validated each of the order's authorizations (those with a valid one), and
# the allowlist entries that apply to the account (one row each; one row of NULLs if none).
KEY_USES_METHODS_AND_ALLOWLIST = f"""
SELECT k.account_key, k.blocked, k.authz_ids, k.methods, {columns(AllowlistRow, 'l')}
FROM (
    SELECT EXISTS (SELECT 1 FROM accounts WHERE spki_sha256 = %(spki_sha256)s) AS account_key,
           EXISTS (SELECT 1 FROM blocked_keys WHERE spki_sha256 = %(spki_sha256)s) AS blocked,
           ARRAY(SELECT authorization_id FROM challenges
                 WHERE authorization_id = ANY(%(ids)s) AND status = 'valid'
                 ORDER BY authorization_id, type) AS authz_ids,
           ARRAY(SELECT type FROM challenges
                 WHERE authorization_id = ANY(%(ids)s) AND status = 'valid'
                 ORDER BY authorization_id, type) AS methods
) k
LEFT JOIN ({FOR_ACCOUNT}) l ON true
ORDER BY l.scope, l.kind, l.value
"""


@dataclass(frozen=True)
class FinalizeChecks:
    """The CSR key's uses, the challenge type that validated each authorization, and the
    allowlist entries of the account (as store.allowlists.entries_for gives them)."""

    key: KeyUses
    methods: dict[UUID, str]
    allowlist: list[AllowlistRow]


def read(
    conn: psycopg.Connection, spki_sha256: str, authz_ids: list[UUID], *, account_id: UUID,
    eab_kid: str | None,
) -> FinalizeChecks:
    """What finalize checks against the database, in one statement."""
    rows = conn.execute(KEY_USES_METHODS_AND_ALLOWLIST, {
        "spki_sha256": spki_sha256, "ids": authz_ids, "account_id": str(account_id),
        "eab_kid": eab_kid or "",
    }).fetchall()
    first = rows[0]  # the derived table k is one row: the join gives at least one
    entries = [entry for row in rows if (entry := split(row[4:], AllowlistRow)[0]) is not None]
    return FinalizeChecks(KeyUses(account=bool(first[0]), blocked=bool(first[1])),
                          dict(zip(first[2], first[3], strict=True)), entries)
