"""acmeeh.protocol.status: enum values are the RFC strings and codes."""

import pytest

from acmeeh.protocol.status import (
    AccountStatus,
    AuthzStatus,
    ChallengeStatus,
    ChallengeType,
    IdentifierType,
    OrderStatus,
    RevocationReason,
)


@pytest.mark.parametrize(
    ("enum", "values"),
    [
        (AccountStatus, {"valid", "deactivated", "revoked"}),
        (OrderStatus, {"pending", "ready", "processing", "valid", "invalid"}),
        (AuthzStatus, {"pending", "valid", "invalid", "deactivated", "expired", "revoked"}),
        (ChallengeStatus, {"pending", "processing", "valid", "invalid"}),
        (ChallengeType, {"http-01", "dns-01", "tls-alpn-01"}),
        (IdentifierType, {"dns", "ip"}),
    ],
)
def test_str_enums(enum, values):
    assert {str(m) for m in enum} == values
    for value in values:
        assert enum(value) == value


def test_revocation_reasons():
    assert [int(r) for r in RevocationReason] == [0, 1, 2, 3, 4, 5, 6, 8, 9, 10]
    with pytest.raises(ValueError):
        RevocationReason(7)
    assert RevocationReason.KEY_COMPROMISE == 1
