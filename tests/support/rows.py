"""Minimal rows inserted with plain SQL, for store tests that need an owner or a parent row."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.types.json import Jsonb

from acmeeh.protocol.status import OrderStatus
from acmeeh.store import orders

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


EXPIRES = NOW + timedelta(days=7)


def new_authz(value: str) -> orders.NewAuthorization:
    """A pending dns authorization with an http-01 and a dns-01 challenge."""
    return orders.NewAuthorization(
        id=uuid.uuid4(), identifier_type="dns", identifier_value=value, wildcard=False,
        expires=EXPIRES, challenges=((uuid.uuid4(), "http-01", uuid.uuid4().hex),
                                     (uuid.uuid4(), "dns-01", uuid.uuid4().hex)))


def create(conn: psycopg.Connection, owner: uuid.UUID, names: list[str],
           reused: tuple[uuid.UUID, ...] = ()) -> tuple[orders.OrderRow, list[orders.AuthzRow]]:
    """A pending order of `owner` for `names` (two challenges each), as newOrder stores one."""
    new = [new_authz(n) for n in names]
    return orders.create_order(
        conn, uuid.uuid4(), account_id=owner, status=OrderStatus.PENDING,
        identifiers=[{"type": "dns", "value": n} for n in names], expires=EXPIRES,
        authorization_ids=[*reused, *(a.id for a in new)], new_authorizations=new)
