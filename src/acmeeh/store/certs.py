"""certificates table."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from .records import CertificateRow, OrderRow, columns, split

_COLS = columns(CertificateRow)


def _one(conn: psycopg.Connection, query: str, params: tuple[Any, ...]) -> CertificateRow | None:
    with conn.cursor(row_factory=class_row(CertificateRow)) as cur:
        return cur.execute(query, params).fetchone()  # type: ignore[arg-type]


_ISSUED = (
    "WITH o AS (UPDATE orders SET status = %s, certificate_id = %s, updated_at = now()"
    " WHERE id = %s AND status = %s RETURNING *),"
    " c AS (INSERT INTO certificates (id, serial, account_id, order_id, der, pem_chain, names,"
    " not_before, not_after, fingerprint, spki_sha256)"
    " SELECT %s, %s, %s, o.id, %s, %s, %s, %s, %s, %s, %s FROM o RETURNING *),"
    # the issuance intent of the serial is settled: the certificate row now knows it
    " d AS (DELETE FROM issuance_intents WHERE serial = (SELECT serial FROM c))"
    f" SELECT {columns(CertificateRow, 'c')}, {columns(OrderRow, 'o')} FROM c, o"
)


def insert_for_order(
    conn: psycopg.Connection,
    cert_id: UUID,
    *,
    order_id: UUID,
    from_status: str,
    to_status: str,
    serial: str,
    account_id: UUID,
    der: bytes,
    pem_chain: str,
    names: list[str],
    not_before: datetime,
    not_after: datetime,
    fingerprint: str,
    spki_sha256: str,
) -> tuple[CertificateRow, OrderRow] | None:
    """Store a certificate, move its order (compare-and-set on `from_status`) and delete the
    serial's issuance intent, in one statement, so atomic without a transaction; None, and
    nothing stored, when the order was no longer `from_status`. Callers go through
    acmeeh.authority.states."""
    row = conn.execute(
        _ISSUED,
        (to_status, cert_id, order_id, from_status, cert_id, serial, account_id, der, pem_chain,
         names, not_before, not_after, fingerprint, spki_sha256),
    ).fetchone()
    if row is None:
        return None
    cert, order = split(row, CertificateRow, OrderRow)
    return cert, order


def get_certificate(conn: psycopg.Connection, cert_id: UUID) -> CertificateRow | None:
    return _one(conn, f"SELECT {_COLS} FROM certificates WHERE id = %s", (cert_id,))


def find_certificate_by_serial(conn: psycopg.Connection, serial: str) -> CertificateRow | None:
    return _one(conn, f"SELECT {_COLS} FROM certificates WHERE serial = %s", (serial,))


def set_revoked(
    conn: psycopg.Connection, cert_id: UUID, *, reason: int, now: datetime
) -> CertificateRow | None:
    """Record the revocation once; None when it was already revoked."""
    return _one(
        conn,
        f"UPDATE certificates SET revoked_at = %s, revocation_reason = %s"
        f" WHERE id = %s AND revoked_at IS NULL RETURNING {_COLS}",
        (now, reason, cert_id),
    )


def unexpired_with_key(
    conn: psycopg.Connection, account_id: UUID, spki_sha256: str, now: datetime
) -> list[CertificateRow]:
    """The account's unrevoked certificates for this key that have not expired, locked for
    update (RFC 8555 §7.6 keyCompromise revokes them together)."""
    with conn.cursor(row_factory=class_row(CertificateRow)) as cur:
        return cur.execute(
            f"SELECT {_COLS} FROM certificates WHERE spki_sha256 = %s AND account_id = %s"
            f" AND revoked_at IS NULL AND not_after > %s ORDER BY id FOR UPDATE",
            (spki_sha256, account_id, now),
        ).fetchall()
