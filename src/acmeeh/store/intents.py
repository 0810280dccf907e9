"""issuance_intents table: every serial the CA is about to sign, recorded before it signs
(issue 11 item 5), until its certificate row is stored (the row is then deleted in the same
statement that stores the certificate, so what remains is what never got stored)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from .db import fetch_all
from .filters import Where
from .paging import Page, order_by
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


def _one(conn: psycopg.Connection, query: str, params: tuple[Any, ...]) -> IntentRow | None:
    with conn.cursor(row_factory=class_row(IntentRow)) as cur:
        return cur.execute(query, params).fetchone()  # type: ignore[arg-type]


_BEGIN = (
    "WITH o AS (UPDATE orders SET status = %s, updated_at = now()"
    " WHERE id = %s AND status = %s RETURNING *),"
    " i AS (INSERT INTO issuance_intents (serial, order_id, account_id, names, not_before,"
    " not_after, spki_sha256) SELECT %s, o.id, o.account_id, %s, %s, %s, %s FROM o)"
    f" SELECT {columns(OrderRow)} FROM o"
)


def begin(
    conn: psycopg.Connection, order_id: UUID, *, from_status: str, to_status: str, serial: str,
    names: list[str], not_before: datetime, not_after: datetime, spki_sha256: str,
) -> OrderRow | None:
    """Move the order (compare-and-set on `from_status`) and record the intent to sign
    `serial` for it, in one statement; None, and nothing recorded, when the order was no
    longer `from_status`. Callers go through acmeeh.authority.states."""
    with conn.cursor(row_factory=class_row(OrderRow)) as cur:
        return cur.execute(  # type: ignore[arg-type]
            _BEGIN,
            (to_status, order_id, from_status, serial, names, not_before, not_after, spki_sha256),
        ).fetchone()


def keep_signed(conn: psycopg.Connection, serial: str, *, der: bytes, pem_chain: str,
                now: datetime) -> bool:
    """Keep the signed leaf with its intent (its certificate row could not be stored)."""
    cur = conn.execute(
        "UPDATE issuance_intents SET der = %s, pem_chain = %s, signed_at = %s"
        " WHERE serial = %s AND der IS NULL",
        (der, pem_chain, now, serial),
    )
    return cur.rowcount == 1


def lock_for_order(conn: psycopg.Connection, order_id: UUID) -> IntentRow | None:
    """The intent of an order, locked until the transaction ends (the caller has locked the
    order first, as storing a certificate does)."""
    return _one(conn, f"SELECT {_COLS} FROM issuance_intents WHERE order_id = %s FOR UPDATE",
                (order_id,))


def lock(conn: psycopg.Connection, serial: str) -> IntentRow | None:
    return _one(conn, f"SELECT {_COLS} FROM issuance_intents WHERE serial = %s FOR UPDATE",
                (serial,))


def get(conn: psycopg.Connection, serial: str) -> IntentRow | None:
    return _one(conn, f"SELECT {_COLS} FROM issuance_intents WHERE serial = %s", (serial,))


def abandon(conn: psycopg.Connection, serial: str, now: datetime) -> None:
    conn.execute("UPDATE issuance_intents SET abandoned_at = %s WHERE serial = %s"
                 " AND abandoned_at IS NULL", (now, serial))


def set_revoked(conn: psycopg.Connection, serial: str, *, reason: int,
                now: datetime) -> IntentRow | None:
    """Record the revocation once; None when it was already revoked."""
    return _one(
        conn,
        f"UPDATE issuance_intents SET revoked_at = %s, revocation_reason = %s"
        f" WHERE serial = %s AND revoked_at IS NULL RETURNING {_COLS}",
        (now, reason, serial),
    )


def list_page(conn: psycopg.Connection, page: Page) -> list[IntentRow]:
    """One page, newest first (limit + 1 rows: the extra one says another page follows)."""
    where = Where.after(page, SERIAL_KEY)
    return fetch_all(conn, IntentRow,
                     f"SELECT {_COLS} FROM issuance_intents WHERE {where} {order_by(SERIAL_KEY)}"
                     f" LIMIT %(limit)s", where.params | {"limit": page.limit + 1})
