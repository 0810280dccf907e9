"""One round trip per signed ACME request (RFC 8555 §6.2, §6.5): the nonce redeemed, the
signing account read and the resource the request addresses read, in one statement.

The caller (the web envelope) has checked the JWS signature under the account's known key
before it runs any of these; it then checks the account row (status, key still the one that
verified) and the nonce before the resource read here is used at all. Each resource is read
only if the signing account owns it, so another account's resource never leaves the
database (the authority then answers 404 as for a missing one).

`used` is a data-modifying CTE, so PostgreSQL runs it exactly once whatever the number of
rows the resource read returns (an authorization with three challenges is three rows).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

import psycopg

from . import new_order_checks
from .allowlists import AllowlistRow
from .new_order_checks import NewOrderChecks
from .profile_restrictions import ProfileRestrictionRow
from .records import (
    AccountRow,
    AuthzRow,
    CertificateRow,
    ChallengeRow,
    OrderRow,
    columns,
    parent_with_children,
    split,
    width,
)

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

# Every statement below starts so: the nonce redeemed (`fresh`: it was not used before) and
# the signing account's columns, then what the statement adds.
_REDEEMED = f"""
WITH used AS (
    INSERT INTO nonces (value, expires_at) VALUES (%(nonce)s, %(expires_at)s)
    ON CONFLICT (value) DO NOTHING
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM used) AS fresh, {columns(AccountRow, 'k')}"""

# Any other kid-signed request (newOrder, account updates...): the account alone.
REDEEM_READING_ACCOUNT = _REDEEMED + """
FROM (SELECT 1) AS one
LEFT JOIN accounts k ON k.id = %(account_id)s
"""

# newOrder (RFC 8555 §7.4): what it checks against the database before it inserts, as
# new_order_checks.MAINTENANCE_ALLOWLIST_AND_PROFILES reads it (maintenance mode, then the
# allowlist entries and the profile restrictions that apply to the account, by its id and its
# EAB key, as allowlists.FOR_ACCOUNT and profile_restrictions.FOR_ACCOUNT select them).
REDEEM_READING_NEW_ORDER_CHECKS = _REDEEMED + f""",
       m.enabled, {columns(AllowlistRow, 'l')}, {columns(ProfileRestrictionRow, 'p')}
FROM (SELECT COALESCE((SELECT enabled FROM maintenance WHERE singleton), false) AS enabled) m
LEFT JOIN accounts k ON k.id = %(account_id)s
LEFT JOIN identifier_allowlist l
       ON l.scope = 'global' OR (l.scope = 'account' AND l.scope_id = k.id::text)
       OR (l.scope = 'eab' AND l.scope_id = k.eab_kid)
LEFT JOIN profile_restrictions p
       ON (p.scope = 'account' AND p.scope_id = k.id::text)
       OR (p.scope = 'eab' AND p.scope_id = k.eab_kid)
ORDER BY l.scope, l.kind, l.value, p.scope
"""

# POST-as-GET of an authorization (RFC 8555 §7.5) and its deactivation: the authorization
# with its challenges, ordered by type.
REDEEM_READING_AUTHORIZATION = _REDEEMED + f""",
       {columns(AuthzRow, 'a')}, {columns(ChallengeRow, 'c')}
FROM (SELECT 1) AS one
LEFT JOIN accounts k ON k.id = %(account_id)s
LEFT JOIN authorizations a ON a.id = %(id)s AND a.account_id = %(account_id)s
LEFT JOIN challenges c ON c.authorization_id = a.id
ORDER BY c.type
"""

# POST-as-GET of an order (RFC 8555 §7.4) and finalize: the order with its authorizations,
# ordered by identifier as orders.GET_WITH_AUTHORIZATIONS orders them (and looked up by
# primary key through the ARRAY, for the plan's sake, as there).
REDEEM_READING_ORDER = _REDEEMED + f""",
       {columns(OrderRow, 'o')}, {columns(AuthzRow, 'a')}
FROM (SELECT 1) AS one
LEFT JOIN accounts k ON k.id = %(account_id)s
LEFT JOIN orders o ON o.id = %(id)s AND o.account_id = %(account_id)s
LEFT JOIN authorizations a ON o.id IS NOT NULL AND a.id = ANY(
    ARRAY(SELECT authorization_id FROM order_authorizations WHERE order_id = %(id)s))
ORDER BY a.identifier_type, a.identifier_value, a.wildcard
"""

# A challenge (RFC 8555 §7.5.1), read or answered: the challenge and its authorization.
REDEEM_READING_CHALLENGE = _REDEEMED + f""",
       {columns(ChallengeRow, 'c')}, {columns(AuthzRow, 'a')}
FROM (SELECT 1) AS one
LEFT JOIN accounts k ON k.id = %(account_id)s
LEFT JOIN (challenges c JOIN authorizations a
           ON a.id = c.authorization_id AND a.account_id = %(account_id)s)
       ON c.id = %(id)s
"""

# Certificate download (RFC 8555 §7.4.2).
REDEEM_READING_CERTIFICATE = _REDEEMED + f""",
       {columns(CertificateRow, 'r')}
FROM (SELECT 1) AS one
LEFT JOIN accounts k ON k.id = %(account_id)s
LEFT JOIN certificates r ON r.id = %(id)s AND r.account_id = %(account_id)s
"""

Rows = list[tuple[Any, ...]]


@dataclass(frozen=True)
class Reading(Generic[T_co]):
    """The resource a signed request reads with its nonce: a statement above, the id it
    reads, and how its columns (those after the account's) become records."""

    query: str
    id: UUID | None
    parse: Callable[[Rows], T_co]


def _one(record: type[T]) -> Callable[[Rows], T | None]:
    return lambda rows: split(rows[0], record)[0]


def _pair(first: type, second: type) -> Callable[[Rows], Any]:
    def parse(rows: Rows) -> Any:
        both = split(rows[0], first, second)
        return None if both[0] is None or both[1] is None else tuple(both)
    return parse


def _with_children(parent: type, child: type) -> Callable[[Rows], Any]:
    def parse(rows: Rows) -> Any:
        if all(v is None for v in rows[0][: width(parent)]):
            return None
        return parent_with_children(rows, parent, child)
    return parse


def nothing() -> Reading[None]:
    """No resource: the nonce and the account only."""
    return Reading(REDEEM_READING_ACCOUNT, None, lambda rows: None)


def new_order_checks_of_account() -> Reading[NewOrderChecks]:
    """What newOrder checks for the signing account (as new_order_checks.read)."""
    return Reading(REDEEM_READING_NEW_ORDER_CHECKS, None, new_order_checks.from_rows)


def authorization(authz_id: UUID) -> Reading[tuple[AuthzRow, list[ChallengeRow]] | None]:
    """The signer's authorization with its challenges (ordered by type)."""
    return Reading(REDEEM_READING_AUTHORIZATION, authz_id,
                   _with_children(AuthzRow, ChallengeRow))


def order(order_id: UUID) -> Reading[tuple[OrderRow, list[AuthzRow]] | None]:
    """The signer's order with its authorizations (as orders.get_with_authorizations)."""
    return Reading(REDEEM_READING_ORDER, order_id, _with_children(OrderRow, AuthzRow))


def challenge(challenge_id: UUID) -> Reading[tuple[ChallengeRow, AuthzRow] | None]:
    """The signer's challenge and its authorization (as challenges.get_with_authorization)."""
    return Reading(REDEEM_READING_CHALLENGE, challenge_id, _pair(ChallengeRow, AuthzRow))


def certificate(cert_id: UUID) -> Reading[CertificateRow | None]:
    """The signer's certificate (as certs.get_certificate)."""
    return Reading(REDEEM_READING_CERTIFICATE, cert_id, _one(CertificateRow))


def redeem_reading(
    conn: psycopg.Connection, value: str, expires_at: datetime, account_id: UUID,
    reading: Reading[T],
) -> tuple[AccountRow | None, bool, T]:
    """Record the nonce as used, read the account and the resource of `reading`: one round
    trip. Returns (account or None, whether the nonce was fresh, the resource or None when
    it does not exist or is another account's)."""
    rows = conn.execute(reading.query, {
        "nonce": value, "expires_at": expires_at, "account_id": account_id, "id": reading.id,
    }).fetchall()
    fresh = bool(rows[0][0])
    account = split(rows[0][1:], AccountRow)[0]
    resource = reading.parse([row[1 + width(AccountRow):] for row in rows])
    return account, fresh, resource
