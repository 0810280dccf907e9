"""Helpers of the issue 11 tests: the server's database, seen the way an auditor would.

Every refusal test ends with `nothing_signed(...)`: the CA signed nothing for the account
(no certificate row, no issuance intent), read straight from PostgreSQL.
"""
from __future__ import annotations

import uuid

import psycopg
from support.acme_client import AcmeClient
from support.server import RunningServer

CAA_DOMAIN = "ca.trust.test"


def db(server: RunningServer) -> psycopg.Connection:
    return psycopg.connect(server.database_url, autocommit=True)


def account_id(client: AcmeClient) -> uuid.UUID:
    return uuid.UUID(client.kid.rsplit("/", 1)[1])


def scalar(server: RunningServer, query: str, *params: object) -> object:
    with db(server) as conn:
        row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    return None if row is None else row[0]


def signed_for(server: RunningServer, client: AcmeClient) -> int:
    """Certificates stored for the account (the CA never signs for an order it did not store
    the intent of first, so this counts every signature)."""
    return int(scalar(server, "SELECT count(*) FROM certificates WHERE account_id = %s",  # type: ignore[arg-type]
                      account_id(client)))


def orders_of(server: RunningServer, client: AcmeClient) -> int:
    return int(scalar(server, "SELECT count(*) FROM orders WHERE account_id = %s",  # type: ignore[arg-type]
                      account_id(client)))


def nothing_signed(server: RunningServer, client: AcmeClient) -> None:
    assert signed_for(server, client) == 0


def unique(tag: str, zone: str = "trust.test") -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}.{zone}"
