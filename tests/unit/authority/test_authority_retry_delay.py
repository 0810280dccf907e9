"""When a transiently failed validation is tried again (RFC 8555 §8.2): the wait doubles from
challenges.retry_backoff_seconds, at most challenges.max_attempts attempts in all, and never
past the authorization's end."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from acmeeh.authority.challenges import retry_delay

NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("retries", "max_attempts", "backoff", "expires_in", "delay"), [
    (0, 1, 5.0, 3600, None),  # one attempt allowed: never retried
    (0, 3, 5.0, 3600, 5.0),  # first retry after the backoff
    (1, 3, 5.0, 3600, 10.0),  # then twice as long
    (2, 3, 5.0, 3600, None),  # third attempt made: that was the last
    (3, 10, 0.5, 3600, 4.0),
    (0, 3, 5.0, 5, None),  # the retry would land on the authorization's end
    (0, 3, 5.0, 4, None),  # or after it
    (0, 3, 5.0, 6, 5.0),  # just before it is still fine
    (1, 3, 5.0, 8, None),  # 10 s wait, 8 s left
])
def test_retry_delay(retries: int, max_attempts: int, backoff: float, expires_in: float,
                     delay: float | None) -> None:
    assert retry_delay(retries=retries, max_attempts=max_attempts, backoff=backoff, now=NOW,
                       expires=NOW + timedelta(seconds=expires_in)) == delay
