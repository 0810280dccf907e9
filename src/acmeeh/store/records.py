"""Rows as frozen dataclasses (psycopg `class_row` builds them)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID


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
