"""Rows as frozen dataclasses (psycopg `class_row` builds them)."""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from typing import Any, TypeVar
from uuid import UUID

P = TypeVar("P")
C = TypeVar("C")


@cache  # called while building statements, some on hot paths: compute each list once
def columns(record: type, alias: str = "") -> str:
    """The select list of a record's columns (the dataclass fields, in order), qualified by a
    table alias when given (for joins)."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + f.name for f in fields(record))


@cache
def width(record: type) -> int:
    return len(fields(record))


def split(row: tuple[Any, ...], *records: type) -> list[Any]:
    """Build one record of each type from consecutive columns of a joined row; a record whose
    columns are all NULL (the missing side of an outer join) comes back as None."""
    built, start = [], 0
    for record in records:
        part = row[start : start + width(record)]
        start += len(part)
        built.append(None if all(v is None for v in part) else record(*part))
    return built


def parent_with_children(
    rows: list[tuple[Any, ...]], parent: type[P], child: type[C]
) -> tuple[P, list[C]] | None:
    """Rows of `parent LEFT JOIN child` as (parent, children); None when there is no row."""
    if not rows:
        return None
    pairs = [split(r, parent, child) for r in rows]
    return pairs[0][0], [c for _, c in pairs if c is not None]


@dataclass(frozen=True)
class AccountRow:
    id: UUID
    jwk: dict[str, Any]
    thumbprint: str
    status: str
    contact: list[str]
    tos_agreed: bool
    eab_kid: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class OrderRow:
    id: UUID
    account_id: UUID
    status: str
    identifiers: list[dict[str, str]]
    not_before: datetime | None
    not_after: datetime | None
    expires: datetime
    error: dict[str, Any] | None
    certificate_id: UUID | None
    replaces: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class AuthzRow:
    id: UUID
    account_id: UUID
    identifier_type: str
    identifier_value: str
    wildcard: bool
    status: str
    expires: datetime
    created_at: datetime
    updated_at: datetime
    caa_checked_at: datetime | None


@dataclass(frozen=True)
class ChallengeRow:
    id: UUID
    authorization_id: UUID
    type: str
    token: str
    status: str
    validated_at: datetime | None
    error: dict[str, Any] | None
    records: list[dict[str, Any]] | None
    attempts: int
    processing_since: datetime | None
    created_at: datetime
    updated_at: datetime
    retries: int  # transient failures tried again (RFC 8555 §8.2)
    retry_at: datetime | None  # when the next attempt is due, while retrying


@dataclass(frozen=True)
class CertificateRow:
    id: UUID
    serial: str
    account_id: UUID
    order_id: UUID
    der: bytes
    pem_chain: str
    names: list[str]
    not_before: datetime
    not_after: datetime
    fingerprint: str
    spki_sha256: str
    revoked_at: datetime | None
    revocation_reason: int | None
    created_at: datetime
