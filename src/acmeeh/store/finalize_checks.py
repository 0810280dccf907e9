"""What finalize reads before it signs (RFC 8555 §7.4, §11.1, §7.6), in one round trip."""
from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import psycopg

from .blocked_keys import KeyUses

# Is the CSR's key some account's key (any account, any status), is it blocked, and which
# challenge type validated each of the order's authorizations (those with a valid one).
KEY_USES_AND_METHODS = """
SELECT EXISTS (SELECT 1 FROM accounts WHERE spki_sha256 = %(spki_sha256)s),
       EXISTS (SELECT 1 FROM blocked_keys WHERE spki_sha256 = %(spki_sha256)s),
       ARRAY(SELECT authorization_id FROM challenges
             WHERE authorization_id = ANY(%(ids)s) AND status = 'valid'
             ORDER BY authorization_id, type),
       ARRAY(SELECT type FROM challenges
             WHERE authorization_id = ANY(%(ids)s) AND status = 'valid'
             ORDER BY authorization_id, type)
"""


@dataclass(frozen=True)
class FinalizeChecks:
    """The CSR key's uses, and the challenge type that validated each authorization."""

    key: KeyUses
    methods: dict[UUID, str]


def key_uses_and_methods(
    conn: psycopg.Connection, spki_sha256: str, authz_ids: list[UUID]
) -> FinalizeChecks:
    """blocked_keys.key_uses and authzs.validation_methods, in one statement."""
    row = conn.execute(KEY_USES_AND_METHODS,
                       {"spki_sha256": spki_sha256, "ids": authz_ids}).fetchone()
    assert row is not None
    methods = dict(zip(row[2], row[3], strict=True))
    return FinalizeChecks(KeyUses(account=bool(row[0]), blocked=bool(row[1])), methods)
