"""Minimal rows inserted with plain SQL, for store tests that need an owner or a parent row."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.types.json import Jsonb

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def account(conn: psycopg.Connection) -> uuid.UUID:
    """A valid account (with a unique key) for rows that need an owner."""
    account_id = uuid.uuid4()
    conn.execute(
        "INSERT INTO accounts (id, jwk, thumbprint, spki_sha256, status, contact, tos_agreed)"
        " VALUES (%s, %s, %s, %s, 'valid', '{}', true)",
        (account_id, Jsonb({"kty": "test"}), account_id.hex, account_id.hex),
    )
    return account_id


def order(conn: psycopg.Connection, account_id: uuid.UUID, status: str = "processing") -> uuid.UUID:
    """An order of `account_id` in `status` for one dns name."""
    order_id = uuid.uuid4()
    conn.execute(
        "INSERT INTO orders (id, account_id, status, identifiers, expires)"
        " VALUES (%s, %s, %s, %s, %s)",
        (order_id, account_id, status, Jsonb([{"type": "dns", "value": "a.example"}]),
         NOW + timedelta(days=7)),
    )
    return order_id
