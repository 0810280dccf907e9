"""Status values and enumerations of RFC 8555 and RFC 5280 as enums."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class AccountStatus(StrEnum):
    """RFC 8555 §7.1.6, account objects."""

    VALID = "valid"
    DEACTIVATED = "deactivated"
    REVOKED = "revoked"


class OrderStatus(StrEnum):
    """RFC 8555 §7.1.6, order objects."""

    PENDING = "pending"
    READY = "ready"
    PROCESSING = "processing"
    VALID = "valid"
    INVALID = "invalid"


class AuthzStatus(StrEnum):
    """RFC 8555 §7.1.6, authorization objects."""

    PENDING = "pending"
    VALID = "valid"
    INVALID = "invalid"
    DEACTIVATED = "deactivated"
    EXPIRED = "expired"
    REVOKED = "revoked"


class ChallengeStatus(StrEnum):
    """RFC 8555 §7.1.6, challenge objects."""

    PENDING = "pending"
    PROCESSING = "processing"
    VALID = "valid"
    INVALID = "invalid"


class ChallengeType(StrEnum):
    """Challenge types: RFC 8555 §8.3, §8.4 and RFC 8737 (tls-alpn-01)."""

    HTTP_01 = "http-01"
    DNS_01 = "dns-01"
    TLS_ALPN_01 = "tls-alpn-01"


class IdentifierType(StrEnum):
    """Identifier types: RFC 8555 §9.7.7 (dns) and RFC 8738 (ip)."""

    DNS = "dns"
    IP = "ip"


class RevocationReason(IntEnum):
    """CRLReason (RFC 5280 §5.3.1); value 7 is unused in the RFC and not a member."""

    UNSPECIFIED = 0
    KEY_COMPROMISE = 1
    CA_COMPROMISE = 2
    AFFILIATION_CHANGED = 3
    SUPERSEDED = 4
    CESSATION_OF_OPERATION = 5
    CERTIFICATE_HOLD = 6
    REMOVE_FROM_CRL = 8
    PRIVILEGE_WITHDRAWN = 9
    AA_COMPROMISE = 10
