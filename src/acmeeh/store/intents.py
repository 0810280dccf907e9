"""issuance_intents table: every serial the CA is about to sign, recorded before it signs
(issue 11 item 5), until its certificate row is stored (the row is then deleted in the same
statement that stores the certificate, so what remains is what never got stored)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg

from .db import fetch_one
from .filters import fetch_page
from .paging import Page
from .records import OrderRow, columns

SERIAL_KEY = ('{p}serial COLLATE "C"', '%(after_key)s COLLATE "C"')


@dataclass(frozen=True)
class IntentRow:
    """A serial the CA was asked to sign whose certificate row is not stored (yet)."""

    serial: str
    order_id: UUID  # no foreign key: retention may delete the order, the serial stays known
    account_id: UUID
    names: list[str]
    not_before: datetime
    not_after: datetime
    spki_sha256: str
    der: bytes | None  # the signed leaf, kept when its certificate row could not be stored
    pem_chain: str | None
    signed_at: datetime | None  # when the leaf was kept here
    abandoned_at: datetime | None  # when stale-order recovery gave its order up
    revoked_at: datetime | None
    revocation_reason: int | None
    created_at: datetime


_COLS = columns(IntentRow)

# The order moves (compare-and-set on %(from_status)s) and the intent to sign %(serial)s is
# recorded, in one statement: nothing is recorded when the order was no longer in from_status.
START_ISSUANCE = f"""
WITH o AS (
    UPDATE orders SET status = %(to_status)s, updated_at = now()
    WHERE id = %(order_id)s AND status = %(from_status)s
    RETURNING *
), i AS (
    INSERT INTO issuance_intents (serial, order_id, account_id, names, not_before, not_after,
                                  spki_sha256)
    SELECT %(serial)s, o.id, o.account_id, %(names)s, %(not_before)s, %(not_after)s,
           %(spki_sha256)s
    FROM o
)
SELECT {columns(OrderRow)} FROM o
"""

# The signed leaf, kept with its intent when its certificate row could not be stored.
KEEP_SIGNED = """
UPDATE issuance_intents
SET serial = %(serial)s, not_before = %(not_before)s, not_after = %(not_after)s,
    der = %(der)s, pem_chain = %(pem_chain)s, signed_at = %(now)s
WHERE order_id = %(order_id)s AND der IS NULL
"""

LOCK_FOR_ORDER = f"""
SELECT {_COLS} FROM issuance_intents WHERE order_id = %(order_id)s FOR UPDATE
"""

LOCK = f"""
SELECT {_COLS} FROM issuance_intents WHERE serial = %(serial)s FOR UPDATE
"""

GET = f"""
SELECT {_COLS} FROM issuance_intents WHERE serial = %(serial)s
"""

ABANDON = """
UPDATE issuance_intents SET abandoned_at = %(now)s
WHERE serial = %(serial)s AND abandoned_at IS NULL
"""

SET_REVOKED = f"""
UPDATE issuance_intents SET revoked_at = %(now)s, revocation_reason = %(reason)s
WHERE serial = %(serial)s AND revoked_at IS NULL
RETURNING {_COLS}
"""


def begin(
    conn: psycopg.Connection, order_id: UUID, *, from_status: str, to_status: str, serial: str,
    names: list[str], not_before: datetime, not_after: datetime, spki_sha256: str,
) -> OrderRow | None:
    """Move the order (compare-and-set on `from_status`) and record the intent to sign
    `serial` for it, in one statement; None, and nothing recorded, when the order was no
    longer `from_status`. Callers go through acmeeh.authority.states."""
    return fetch_one(conn, OrderRow, START_ISSUANCE, {
        "to_status": to_status, "order_id": order_id, "from_status": from_status,
        "serial": serial, "names": names, "not_before": not_before, "not_after": not_after,
        "spki_sha256": spki_sha256,
    })


def keep_signed(conn: psycopg.Connection, order_id: UUID, *, serial: str, der: bytes,
                pem_chain: str, not_before: datetime, not_after: datetime,
                now: datetime) -> bool:
    """Keep the signed leaf with its order's intent (its certificate row could not be stored).
    The intent takes the leaf's serial and validity: a CA that assigns its own serials (an
    upstream ACME CA) signs another serial than was planned."""
    cur = conn.execute(KEEP_SIGNED, {"order_id": order_id, "serial": serial, "der": der,
                                     "pem_chain": pem_chain, "not_before": not_before,
                                     "not_after": not_after, "now": now})
    return cur.rowcount == 1


def lock_for_order(conn: psycopg.Connection, order_id: UUID) -> IntentRow | None:
    """The intent of an order, locked until the transaction ends (the caller has locked the
    order first, as storing a certificate does)."""
    return fetch_one(conn, IntentRow, LOCK_FOR_ORDER, {"order_id": order_id})


def lock(conn: psycopg.Connection, serial: str) -> IntentRow | None:
    return fetch_one(conn, IntentRow, LOCK, {"serial": serial})


def get(conn: psycopg.Connection, serial: str) -> IntentRow | None:
    return fetch_one(conn, IntentRow, GET, {"serial": serial})


def abandon(conn: psycopg.Connection, serial: str, now: datetime) -> None:
    conn.execute(ABANDON, {"now": now, "serial": serial})


def set_revoked(conn: psycopg.Connection, serial: str, *, reason: int,
                now: datetime) -> IntentRow | None:
    """Record the revocation once; None when it was already revoked."""
    return fetch_one(conn, IntentRow, SET_REVOKED, {"now": now, "reason": reason, "serial": serial})


def list_page(conn: psycopg.Connection, page: Page) -> list[IntentRow]:
    """One page, newest first (limit + 1 rows: the extra one says another page follows)."""
    return fetch_page(conn, IntentRow, "issuance_intents", page, key=SERIAL_KEY)
