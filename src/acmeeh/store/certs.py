"""certificates table."""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from .db import fetch_all, fetch_one
from .records import CertificateRow, NewCertificate, OrderRow, columns, split
from .webhooks import NewEvent

_CERT = columns(CertificateRow)

GET = f"""
SELECT {_CERT} FROM certificates WHERE id = %(id)s
"""

FIND_BY_SERIAL = f"""
SELECT {_CERT} FROM certificates WHERE serial = %(serial)s
"""

# The transition processing → valid of an order, fused with storing its certificate and
# settling the serial's issuance intent: the order moves only if it is still `from_status`,
# the certificate row exists only if the order moved, and the intent goes with it (one
# statement, so atomic without a transaction). The CTEs o, c and d; a statement adds its own.
_STORE_AND_COMPLETE = """
WITH o AS (
    UPDATE orders SET status = %(to_status)s, certificate_id = %(id)s, updated_at = now()
    WHERE id = %(order_id)s AND status = %(from_status)s
    RETURNING *
), c AS (
    INSERT INTO certificates (id, serial, account_id, order_id, der, pem_chain, names,
                              not_before, not_after, fingerprint, spki_sha256)
    SELECT %(id)s, %(serial)s, %(account_id)s, o.id, %(der)s, %(pem_chain)s, %(names)s,
           %(not_before)s, %(not_after)s, %(fingerprint)s, %(spki_sha256)s
    FROM o
    RETURNING *
), d AS (
    -- the order's issuance intent is settled: the certificate row now knows its serial (by
    -- order, not serial: a CA that assigns its own serials signs another than was planned)
    DELETE FROM issuance_intents WHERE order_id = (SELECT order_id FROM c)
)"""
_STORED_AND_COMPLETED = f"""
SELECT {columns(CertificateRow, 'c')}, {columns(OrderRow, 'o')} FROM c, o
"""

STORE_AND_COMPLETE_ORDER = _STORE_AND_COMPLETE + _STORED_AND_COMPLETED

# STORE_AND_COMPLETE_ORDER that also records the certificate.issued webhook event for every
# enabled subscription to it (authority.events; none when nobody subscribes), so that a
# certificate stored without an e-mail to send needs no transaction: one statement.
STORE_AND_COMPLETE_ORDER_ANNOUNCING = _STORE_AND_COMPLETE + """, w AS (
    INSERT INTO webhook_deliveries (id, webhook_id, event_id, event, payload, status,
                                    next_attempt_at, created_at, updated_at)
    SELECT gen_random_uuid(), w.id, %(event_id)s, %(event)s, %(payload)s, 'pending',
           %(now)s, %(now)s, %(now)s
    FROM webhooks w
    WHERE w.enabled AND %(event)s = ANY(w.events) AND EXISTS (SELECT 1 FROM c)
)""" + _STORED_AND_COMPLETED

UNEXPIRED_WITH_KEY_FOR_UPDATE = f"""
SELECT {_CERT} FROM certificates
WHERE spki_sha256 = %(spki_sha256)s AND account_id = %(account_id)s
  AND revoked_at IS NULL AND not_after > %(now)s
ORDER BY id FOR UPDATE
"""

SET_REVOKED = f"""
UPDATE certificates SET revoked_at = %(now)s, revocation_reason = %(reason)s
WHERE id = %(id)s AND revoked_at IS NULL
RETURNING {_CERT}
"""


def store_and_complete_order(
    conn: psycopg.Connection, cert: NewCertificate, *, order_id: UUID, from_status: str,
    to_status: str, announcing: NewEvent | None = None,
) -> tuple[CertificateRow, OrderRow] | None:
    """Store a certificate, move its order (compare-and-set on `from_status`) and delete the
    serial's issuance intent, in one statement; None, and nothing stored, when the order was
    no longer `from_status`. `announcing`: the webhook event recorded with them, in the same
    statement. Callers go through acmeeh.authority.states.complete_order."""
    params = {**asdict(cert), "order_id": order_id, "from_status": from_status,
              "to_status": to_status}
    query = STORE_AND_COMPLETE_ORDER
    if announcing is not None:
        query = STORE_AND_COMPLETE_ORDER_ANNOUNCING
        params |= {"event_id": announcing.id, "event": announcing.event,
                   "payload": Jsonb(announcing.payload), "now": announcing.now}
    row = conn.execute(query, params).fetchone()
    if row is None:
        return None
    cert_row, order = split(row, CertificateRow, OrderRow)
    return cert_row, order


def get_certificate(conn: psycopg.Connection, cert_id: UUID) -> CertificateRow | None:
    return fetch_one(conn, CertificateRow, GET, {"id": cert_id})


def find_certificate_by_serial(conn: psycopg.Connection, serial: str) -> CertificateRow | None:
    return fetch_one(conn, CertificateRow, FIND_BY_SERIAL, {"serial": serial})


def set_revoked(
    conn: psycopg.Connection, cert_id: UUID, *, reason: int, now: datetime
) -> CertificateRow | None:
    """Record the revocation once; None when it was already revoked."""
    return fetch_one(conn, CertificateRow, SET_REVOKED, {"id": cert_id, "reason": reason, "now": now})


def unexpired_with_key(
    conn: psycopg.Connection, account_id: UUID, spki_sha256: str, now: datetime
) -> list[CertificateRow]:
    """The account's unrevoked certificates for this key that have not expired, locked for
    update (RFC 8555 §7.6 keyCompromise revokes them together)."""
    return fetch_all(conn, CertificateRow, UNEXPIRED_WITH_KEY_FOR_UPDATE,
                     {"account_id": account_id, "spki_sha256": spki_sha256, "now": now})
