"""Admin searches over the ACME tables: filtered, keyset-paginated reads (newest first)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from .db import fetch_all
from .filters import Where, fetch_page, listing
from .paging import Page, order_by
from .records import AccountRow, AuthzRow, CertificateRow, OrderRow, columns

_CERT_COLS = columns(CertificateRow)


@dataclass(frozen=True)
class AccountFilter:
    contact: str | None = None  # substring, case-insensitive
    status: str | None = None
    thumbprint: str | None = None
    eab_kid: str | None = None


@dataclass(frozen=True)
class OrderFilter:
    account_id: UUID | None = None
    status: str | None = None
    identifier: str | None = None  # exact identifier value
    created_after: datetime | None = None
    created_before: datetime | None = None


@dataclass(frozen=True)
class AuthzFilter:
    account_id: UUID | None = None
    status: str | None = None
    identifier: str | None = None  # exact value; "*.x" finds the wildcard authorization of x


@dataclass(frozen=True)
class CertificateFilter:
    serial: str | None = None  # lower-case hex without leading zeros
    name: str | None = None
    account_id: UUID | None = None
    expires_after: datetime | None = None
    expires_before: datetime | None = None
    status: str | None = None  # valid | expired | revoked (as of `now`)
    now: datetime | None = None


# A name narrows the certificates first, through the GIN index on `names` (migration 0008),
# in a materialized CTE; left to itself the planner, expecting many matches, walks the page
# index over every certificate.
_NAMED = """
WITH named AS MATERIALIZED (
    SELECT id, created_at, revoked_at, not_after, account_id, serial FROM certificates
    WHERE names @> ARRAY[%(name)s]::text[])
"""

NAMED_CERTIFICATE_IDS = _NAMED + """
SELECT id FROM named WHERE {where} {order} LIMIT %(limit)s
"""

CERTIFICATES_BY_ID = f"""
SELECT {_CERT_COLS} FROM certificates WHERE id = ANY(%(ids)s) {{order}}
"""

# Oldest first: what a bulk revocation works through.
UNREVOKED_IDS = """
SELECT id FROM certificates WHERE {where} ORDER BY created_at, id LIMIT %(limit)s
"""

NAMED_UNREVOKED_IDS = _NAMED + """
SELECT id FROM named WHERE {where} ORDER BY created_at, id LIMIT %(limit)s
"""


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_accounts(conn: psycopg.Connection, page: Page, flt: AccountFilter) -> list[AccountRow]:
    where = Where().equal("status", flt.status).equal("thumbprint", flt.thumbprint)
    where.equal("eab_kid", flt.eab_kid)
    where.add("EXISTS (SELECT 1 FROM unnest(contact) AS c WHERE c ILIKE %(contact)s)",
              contact=_like(flt.contact) if flt.contact is not None else None)
    return fetch_page(conn, AccountRow, "accounts", page, where)


def list_orders(conn: psycopg.Connection, page: Page, flt: OrderFilter) -> list[OrderRow]:
    where = Where().equal("account_id", flt.account_id).equal("status", flt.status)
    where.add("identifiers @> %(identifier)s",
              identifier=Jsonb([{"value": flt.identifier}]) if flt.identifier is not None else None)
    where.add("created_at >= %(created_after)s", created_after=flt.created_after)
    where.add("created_at < %(created_before)s", created_before=flt.created_before)
    return fetch_page(conn, OrderRow, "orders", page, where)


def list_authorizations(conn: psycopg.Connection, page: Page, flt: AuthzFilter) -> list[AuthzRow]:
    where = Where().equal("account_id", flt.account_id).equal("status", flt.status)
    if flt.identifier is not None:
        wildcard = flt.identifier.startswith("*.")
        where.add("identifier_value = %(identifier_value)s AND wildcard = %(wildcard)s",
                  identifier_value=flt.identifier[2:] if wildcard else flt.identifier,
                  wildcard=wildcard)
    return fetch_page(conn, AuthzRow, "authorizations", page, where)


def _certificate_where(where: Where, flt: CertificateFilter) -> Where:
    where.equal("serial", flt.serial).equal("account_id", flt.account_id)
    where.add("not_after >= %(expires_after)s", expires_after=flt.expires_after)
    where.add("not_after < %(expires_before)s", expires_before=flt.expires_before)
    if flt.status == "revoked":
        where.add("revoked_at IS NOT NULL")
    elif flt.status == "valid":
        where.add("revoked_at IS NULL AND not_after > %(now)s", now=flt.now)
    elif flt.status == "expired":
        where.add("revoked_at IS NULL AND not_after <= %(now)s", now=flt.now)
    return where


def list_certificates(
    conn: psycopg.Connection, page: Page, flt: CertificateFilter
) -> list[CertificateRow]:
    if flt.name is None:
        return fetch_page(conn, CertificateRow, "certificates", page, _certificate_where(Where(), flt))
    # The page's ids from the certificates of that name, then those rows in full.
    where = _certificate_where(Where.after(page), flt)
    params = where.params | {"name": flt.name, "limit": page.limit + 1}
    ids = [r[0] for r in conn.execute(listing(NAMED_CERTIFICATE_IDS, where, order_by()), params)]
    return fetch_all(conn, CertificateRow, listing(CERTIFICATES_BY_ID, Where(), order_by()),
                     {"ids": ids})


def unrevoked_certificate_ids(
    conn: psycopg.Connection, flt: CertificateFilter, limit: int
) -> list[UUID]:
    """Ids of the matching certificates not yet revoked (at most `limit`), oldest first."""
    where = _certificate_where(Where(), flt).add("revoked_at IS NULL")
    statement = UNREVOKED_IDS if flt.name is None else NAMED_UNREVOKED_IDS
    named = {} if flt.name is None else {"name": flt.name}
    rows = conn.execute(listing(statement, where),
                        where.params | named | {"limit": limit}).fetchall()
    return [r[0] for r in rows]
