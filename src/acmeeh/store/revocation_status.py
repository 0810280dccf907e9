"""Reads of certificate revocation state for OCSP (RFC 6960), CRLs (RFC 5280) and ARI (RFC 9773)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg

from .db import fetch_one


@dataclass(frozen=True)
class CertStatusRow:
    """What an OCSP answer needs about one certificate; `stored` when it is a stored
    certificate (its changes are announced, see revocation_feed), not an issuance intent."""

    serial: str
    not_after: datetime
    revoked_at: datetime | None
    revocation_reason: int | None
    stored: bool


@dataclass(frozen=True)
class RevokedRow:
    """One CRL entry."""

    serial: str
    revoked_at: datetime
    revocation_reason: int


@dataclass(frozen=True)
class RevocationTotals:
    """Every revocation ever recorded (expired certificates included): count and newest time."""

    total: int
    newest: datetime | None


@dataclass(frozen=True)
class RenewalRow:
    """A certificate with the operator's renewal window, if any (RFC 9773 §4.2)."""

    id: UUID
    serial: str
    account_id: UUID
    der: bytes
    names: list[str]
    not_before: datetime
    not_after: datetime
    revoked_at: datetime | None
    window_start: datetime | None
    window_end: datetime | None
    explanation_url: str | None


# Every serial this CA signed or was about to sign is in stored certificates or in the
# issuance intents whose certificate row was never stored (issue 11 item 5; a serial is in one
# or the other, as storing a certificate deletes its intent in the same statement).
STATUS = """
SELECT serial, not_after, revoked_at, revocation_reason, true AS stored FROM certificates
WHERE serial = %(serial)s
UNION ALL
SELECT serial, not_after, revoked_at, revocation_reason, false AS stored FROM issuance_intents
WHERE serial = %(serial)s
LIMIT 1
"""

# The revoked ones among them (a fragment of the two statements below).
_REVOKED = """
SELECT serial, not_after, revoked_at, revocation_reason FROM certificates
WHERE revoked_at IS NOT NULL
UNION ALL
SELECT serial, not_after, revoked_at, revocation_reason FROM issuance_intents
WHERE revoked_at IS NOT NULL
"""

REVOCATION_TOTALS = f"""
SELECT count(*), max(revoked_at) FROM ({_REVOKED}) AS r
"""

# The totals and the entries still valid at %(unexpired_at)s, from one snapshot.
REVOKED_SNAPSHOT = f"""
WITH revoked AS ({_REVOKED})
SELECT t.total, t.newest, r.serial, r.revoked_at, r.revocation_reason
FROM (SELECT count(*) AS total, max(revoked_at) AS newest FROM revoked) AS t
LEFT JOIN revoked AS r ON r.not_after > %(unexpired_at)s
ORDER BY r.revoked_at, r.serial
"""

RENEWAL = """
SELECT c.id, c.serial, c.account_id, c.der, c.names, c.not_before, c.not_after, c.revoked_at,
       w.window_start, w.window_end, w.explanation_url
FROM certificates AS c LEFT JOIN renewal_windows AS w ON w.certificate_id = c.id
WHERE c.serial = %(serial)s
"""

RENEWAL_FOR_UPDATE = RENEWAL + "FOR UPDATE OF c\n"


def get_status(conn: psycopg.Connection, serial: str) -> CertStatusRow | None:
    """The status of the certificate with lowercase-hex `serial` (stored, or signed and never
    stored), None when this CA never assigned it."""
    return fetch_one(conn, CertStatusRow, STATUS, {"serial": serial})


def revocation_totals(conn: psycopg.Connection) -> RevocationTotals:
    row = conn.execute(REVOCATION_TOTALS).fetchone()
    assert row is not None
    return RevocationTotals(total=int(row[0]), newest=row[1])


def revoked_snapshot(
    conn: psycopg.Connection, *, unexpired_at: datetime
) -> tuple[RevocationTotals, list[RevokedRow]]:
    """The totals and the entries of certificates still valid at `unexpired_at`, from ONE
    statement (one snapshot), so the totals describe exactly the entries returned."""
    rows = conn.execute(REVOKED_SNAPSHOT, {"unexpired_at": unexpired_at}).fetchall()
    totals = RevocationTotals(total=int(rows[0][0]), newest=rows[0][1])
    entries = [
        RevokedRow(serial=s, revoked_at=at, revocation_reason=int(reason or 0))
        for _t, _n, s, at, reason in rows
        if s is not None
    ]
    return totals, entries


def get_renewal(conn: psycopg.Connection, serial: str) -> RenewalRow | None:
    """The certificate with `serial` and its operator window, None when unknown."""
    return fetch_one(conn, RenewalRow, RENEWAL, {"serial": serial})


def lock_for_replacement(conn: psycopg.Connection, serial: str) -> RenewalRow | None:
    """As get_renewal, with the certificate row locked until the transaction ends, so two
    orders replacing the same certificate are checked one after the other."""
    return fetch_one(conn, RenewalRow, RENEWAL_FOR_UPDATE, {"serial": serial})
