"""Rows as frozen dataclasses (psycopg `class_row` builds them)."""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any, TypeVar
from uuid import UUID

from ..protocol.status import (
    AccountStatus,
    AuthzStatus,
    ChallengeStatus,
    ChallengeType,
    IdentifierType,
    OrderStatus,
)

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


def as_enums(row: object, **kinds: type[StrEnum]) -> None:
    """Turn the text columns `kinds` names into their StrEnum (in __post_init__ of a frozen
    row): a record carries the vocabulary of protocol.status, not bare strings; a value the
    enum does not know raises ValueError (the database holds something no code wrote)."""
    for name, kind in kinds.items():
        value = getattr(row, name)
        if type(value) is not kind:
            object.__setattr__(row, name, kind(value))


@dataclass(frozen=True)
class AccountRow:
    id: UUID
    jwk: dict[str, Any]
    thumbprint: str
    status: AccountStatus
    contact: list[str]
    tos_agreed: bool
    eab_kid: str | None
    created_at: datetime
    updated_at: datetime

    def __post_init__(self) -> None:
        as_enums(self, status=AccountStatus)


@dataclass(frozen=True)
class OrderRow:
    id: UUID
    account_id: UUID
    status: OrderStatus
    identifiers: list[dict[str, str]]
    not_before: datetime | None
    not_after: datetime | None
    expires: datetime
    error: dict[str, Any] | None
    certificate_id: UUID | None
    replaces: str | None
    created_at: datetime
    updated_at: datetime
    profile: str | None = None  # ca.profiles name; None (orders before profiles): the default

    def __post_init__(self) -> None:
        as_enums(self, status=OrderStatus)


@dataclass(frozen=True)
class AuthzRow:
    id: UUID
    account_id: UUID
    identifier_type: IdentifierType
    identifier_value: str
    wildcard: bool
    status: AuthzStatus
    expires: datetime
    created_at: datetime
    updated_at: datetime
    caa_checked_at: datetime | None

    def __post_init__(self) -> None:
        as_enums(self, status=AuthzStatus, identifier_type=IdentifierType)


@dataclass(frozen=True)
class ChallengeRow:
    id: UUID
    authorization_id: UUID
    type: ChallengeType
    token: str
    status: ChallengeStatus
    validated_at: datetime | None
    error: dict[str, Any] | None
    records: list[dict[str, Any]] | None
    attempts: int
    processing_since: datetime | None
    created_at: datetime
    updated_at: datetime
    retries: int  # transient failures tried again (RFC 8555 §8.2)
    retry_at: datetime | None  # when the next attempt is due, while retrying

    def __post_init__(self) -> None:
        as_enums(self, status=ChallengeStatus, type=ChallengeType)


@dataclass(frozen=True)
class NewCertificate:
    """A signed certificate about to be stored for its order (authority.finalize)."""

    id: UUID
    serial: str
    account_id: UUID
    der: bytes
    pem_chain: str
    names: list[str]
    not_before: datetime
    not_after: datetime
    fingerprint: str
    spki_sha256: str


@dataclass(frozen=True)
class CertificateRow(NewCertificate):
    """A stored certificate: what was signed, the order it completed, its revocation."""

    order_id: UUID
    revoked_at: datetime | None
    revocation_reason: int | None
    created_at: datetime
