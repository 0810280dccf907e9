"""Admin searches over the ACME tables: filtered, keyset-paginated reads (newest first)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from .paging import Page, order_by, page_clause
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


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _fetch(conn: psycopg.Connection, cls: type, query: str, params: list[Any]) -> list[Any]:
    cur: Any
    with conn.cursor(row_factory=class_row(cls)) as cur:
        return cur.execute(query, params).fetchall()  # type: ignore[arg-type]


def _page_of(
    conn: psycopg.Connection, record: type, table: str, where: list[str], params: list[Any],
    page: Page,
) -> list[Any]:
    """One page of `table` rows matching every clause of `where`, newest first, plus one row
    to tell whether another page follows."""
    return _fetch(conn, record, f"SELECT {columns(record)} FROM {table}"
                  f" WHERE {' AND '.join(where)} {order_by()} LIMIT %s", [*params, page.limit + 1])


def _add(where: list[str], params: list[Any], clause: str, *values: Any) -> None:
    where.append(clause)
    params.extend(values)


def list_accounts(conn: psycopg.Connection, page: Page, flt: AccountFilter) -> list[AccountRow]:
    where, params = page_clause(page)
    if flt.contact is not None:
        _add(where, params, "EXISTS (SELECT 1 FROM unnest(contact) AS c WHERE c ILIKE %s)",
             _like(flt.contact))
    if flt.status is not None:
        _add(where, params, "status = %s", flt.status)
    if flt.thumbprint is not None:
        _add(where, params, "thumbprint = %s", flt.thumbprint)
    if flt.eab_kid is not None:
        _add(where, params, "eab_kid = %s", flt.eab_kid)
    return _page_of(conn, AccountRow, "accounts", where, params, page)


def list_orders(conn: psycopg.Connection, page: Page, flt: OrderFilter) -> list[OrderRow]:
    where, params = page_clause(page)
    if flt.account_id is not None:
        _add(where, params, "account_id = %s", flt.account_id)
    if flt.status is not None:
        _add(where, params, "status = %s", flt.status)
    if flt.identifier is not None:
        _add(where, params, "identifiers @> %s", Jsonb([{"value": flt.identifier}]))
    if flt.created_after is not None:
        _add(where, params, "created_at >= %s", flt.created_after)
    if flt.created_before is not None:
        _add(where, params, "created_at < %s", flt.created_before)
    return _page_of(conn, OrderRow, "orders", where, params, page)


def list_authorizations(conn: psycopg.Connection, page: Page, flt: AuthzFilter) -> list[AuthzRow]:
    where, params = page_clause(page)
    if flt.account_id is not None:
        _add(where, params, "account_id = %s", flt.account_id)
    if flt.status is not None:
        _add(where, params, "status = %s", flt.status)
    if flt.identifier is not None:
        wildcard = flt.identifier.startswith("*.")
        _add(where, params, "identifier_value = %s AND wildcard = %s",
             flt.identifier[2:] if wildcard else flt.identifier, wildcard)
    return _page_of(conn, AuthzRow, "authorizations", where, params, page)


def _certificate_where(flt: CertificateFilter) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if flt.serial is not None:
        _add(where, params, "serial = %s", flt.serial)
    if flt.account_id is not None:
        _add(where, params, "account_id = %s", flt.account_id)
    if flt.expires_after is not None:
        _add(where, params, "not_after >= %s", flt.expires_after)
    if flt.expires_before is not None:
        _add(where, params, "not_after < %s", flt.expires_before)
    if flt.status == "revoked":
        where.append("revoked_at IS NOT NULL")
    elif flt.status == "valid":
        _add(where, params, "revoked_at IS NULL AND not_after > %s", flt.now)
    elif flt.status == "expired":
        _add(where, params, "revoked_at IS NULL AND not_after <= %s", flt.now)
    return where, params


def _certificate_rows(flt: CertificateFilter) -> tuple[str, list[Any]]:
    """A CTE prefix and the relation a certificate search reads from.

    A name narrows the rows first, through the GIN index on `names` (migration 0008), in a
    materialized CTE; left to itself the planner, expecting many matches, walks the page
    index over every certificate.
    """
    if flt.name is None:
        return "", []
    return ("WITH named AS MATERIALIZED (SELECT id, created_at, revoked_at, not_after,"
            " account_id, serial FROM certificates WHERE names @> ARRAY[%s]::text[]) "), [flt.name]


def list_certificates(
    conn: psycopg.Connection, page: Page, flt: CertificateFilter
) -> list[CertificateRow]:
    where, params = page_clause(page)
    more, more_params = _certificate_where(flt)
    cte, cte_params = _certificate_rows(flt)
    if cte:  # the page's ids from the narrowed rows, then those rows in full
        ids = [r[0] for r in conn.execute(
            f"{cte}SELECT id FROM named WHERE {' AND '.join(where + more)} {order_by()} LIMIT %s",
            [*cte_params, *params, *more_params, page.limit + 1])]
        return _fetch(conn, CertificateRow, f"SELECT {_CERT_COLS} FROM certificates"
                      f" WHERE id = ANY(%s) {order_by()}", [ids])
    return _page_of(conn, CertificateRow, "certificates", where + more, [*params, *more_params],
                    page)


def unrevoked_certificate_ids(
    conn: psycopg.Connection, flt: CertificateFilter, limit: int
) -> list[UUID]:
    """Ids of the matching certificates not yet revoked (at most `limit`), oldest first."""
    where, params = _certificate_where(flt)
    where.append("revoked_at IS NULL")
    cte, cte_params = _certificate_rows(flt)
    rows = conn.execute(
        f"{cte}SELECT id FROM {'named' if cte else 'certificates'}"
        f" WHERE {' AND '.join(where) or 'true'} ORDER BY created_at, id LIMIT %s",
        (*cte_params, *params, limit),
    ).fetchall()
    return [r[0] for r in rows]
