"""certificate_expiration_notices table: which expiration warnings were already produced."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg

from .db import fetch_all


@dataclass(frozen=True)
class ExpiringCertificate:
    """A certificate that crossed a warning threshold without a notice, with its account."""

    id: UUID
    serial: str
    names: list[str]
    not_before: datetime
    not_after: datetime
    account_id: UUID
    contact: list[str]


# Unrevoked, unexpired certificates of valid accounts with someone to tell (a mailto: contact,
# or any account when %(any_contact)s) for which some threshold d of %(days)s has
# not_after <= now + d days and no notice yet; soonest expiry first. Days are 24 hours (not
# calendar days, which the session time zone would stretch across DST).
FIND_EXPIRING = """
SELECT c.id, c.serial, c.names, c.not_before, c.not_after, c.account_id, a.contact
FROM certificates c JOIN accounts a ON a.id = c.account_id
WHERE c.revoked_at IS NULL AND c.not_after > %(now)s
  AND c.not_after <= %(now)s + make_interval(hours => 24 * %(widest)s)
  AND a.status = 'valid'
  AND (%(any_contact)s OR EXISTS (SELECT 1 FROM unnest(a.contact) AS k(v)
                                  WHERE lower(k.v) LIKE 'mailto:_%%'))
  AND EXISTS (SELECT 1 FROM unnest(%(days)s::integer[]) AS t(d)
              WHERE c.not_after <= %(now)s + make_interval(hours => 24 * t.d)
                AND NOT EXISTS (SELECT 1 FROM certificate_expiration_notices n
                                WHERE n.certificate_id = c.id AND n.threshold_days = t.d))
ORDER BY c.not_after, c.id LIMIT %(limit)s
"""

# Once per (certificate, threshold): a concurrent insert of the same key waits for the other
# transaction and then does nothing.
RECORD_NOTICE = """
INSERT INTO certificate_expiration_notices (certificate_id, threshold_days, created_at)
VALUES (%(certificate_id)s, %(threshold_days)s, %(now)s)
ON CONFLICT DO NOTHING
RETURNING certificate_id
"""


def find_expiring(
    conn: psycopg.Connection, now: datetime, thresholds: Sequence[int], limit: int,
    *, any_contact: bool = False,
) -> list[ExpiringCertificate]:
    """Unrevoked, unexpired certificates of valid accounts with a mailto: contact (any
    account with `any_contact`, when a webhook listens) for which some threshold `d` has
    `not_after <= now + d days` and no notice yet; soonest expiry first.

    Certificates without anyone to tell are left out, so they never fill a batch.
    """
    if not thresholds:
        return []
    return fetch_all(conn, ExpiringCertificate, FIND_EXPIRING, {
        "now": now, "widest": max(thresholds), "days": list(thresholds), "limit": limit,
        "any_contact": any_contact,
    })


def record_notice(
    conn: psycopg.Connection, certificate_id: UUID, threshold_days: int, now: datetime
) -> bool:
    """Insert the notice once; False when any transaction (of any instance) already did.

    A concurrent insert of the same key waits for the other transaction and then does nothing.
    """
    row = conn.execute(RECORD_NOTICE, {"certificate_id": certificate_id,
                                       "threshold_days": threshold_days, "now": now}).fetchone()
    return row is not None
