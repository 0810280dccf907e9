"""crls and crl_state tables: numbered CRLs, built one at a time (RFC 5280 §5.2.3)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from .db import fetch_one

_INFO = "number, this_update, next_update, entries, revoked_total, revoked_newest, created_at"

# The builder lock: a row lock held until the transaction ends (one builder at a time).
LOCK_BUILDER = """
SELECT last_number FROM crl_state WHERE id FOR UPDATE
"""

TAKE_NUMBER = """
UPDATE crl_state SET last_number = last_number + 1 WHERE id RETURNING last_number
"""

INSERT = f"""
INSERT INTO crls (number, der, this_update, next_update, entries, revoked_total, revoked_newest)
VALUES (%(number)s, %(der)s, %(this_update)s, %(next_update)s, %(entries)s, %(revoked_total)s,
        %(revoked_newest)s)
RETURNING {_INFO}, der
"""

LATEST = f"""
SELECT {_INFO}, der FROM crls ORDER BY number DESC LIMIT 1
"""

LATEST_INFO = f"""
SELECT {_INFO} FROM crls ORDER BY number DESC LIMIT 1
"""

PRUNE = """
DELETE FROM crls WHERE number <= (SELECT max(number) FROM crls) - %(keep)s
"""


@dataclass(frozen=True)
class CRLInfo:
    """A stored CRL without its bytes."""

    number: int
    this_update: datetime
    next_update: datetime
    entries: int
    revoked_total: int
    revoked_newest: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class CRLRow(CRLInfo):
    """A stored CRL with its DER encoding."""

    der: bytes


def lock_builder(conn: psycopg.Connection) -> int:
    """Take the builder lock (a row lock held until the transaction ends); the last number.

    Call inside a transaction. A second builder waits here until the first commits.
    """
    row = conn.execute(LOCK_BUILDER).fetchone()
    if row is None:
        raise RuntimeError("crl_state is empty: migration 0004 was not applied")
    return int(row[0])


def take_number(conn: psycopg.Connection) -> int:
    """The next CRL number (call after lock_builder, in the same transaction)."""
    row = conn.execute(TAKE_NUMBER).fetchone()
    assert row is not None
    return int(row[0])


def insert_crl(
    conn: psycopg.Connection,
    *,
    number: int,
    der: bytes,
    this_update: datetime,
    next_update: datetime,
    entries: int,
    revoked_total: int,
    revoked_newest: datetime | None,
) -> CRLRow:
    row = fetch_one(conn, CRLRow, INSERT, {
        "number": number, "der": der, "this_update": this_update, "next_update": next_update,
        "entries": entries, "revoked_total": revoked_total, "revoked_newest": revoked_newest,
    })
    assert row is not None
    return row


def latest_crl(conn: psycopg.Connection) -> CRLRow | None:
    """The CRL with the highest number, with its bytes."""
    return fetch_one(conn, CRLRow, LATEST, {})


def latest_crl_info(conn: psycopg.Connection) -> CRLInfo | None:
    """The CRL with the highest number, without its bytes."""
    return fetch_one(conn, CRLInfo, LATEST_INFO, {})


def prune_crls(conn: psycopg.Connection, *, keep: int) -> int:
    """Delete all but the `keep` newest CRLs; the number deleted."""
    cur = conn.execute(PRUNE, {"keep": keep})
    return cur.rowcount
