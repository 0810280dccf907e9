"""authority.ratelimits.TokenBucket: the per-process budget of OCSP nonce signatures and of
audit rows for repeatable refusals (a fake clock; nothing else is faked)."""
from __future__ import annotations

import pytest

from acmeeh.authority.ratelimits import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("rate", "burst", "at_once"), [
    (1.0, None, 1), (20.0, None, 20), (0.5, None, 1), (1 / 60, 60, 60), (5.0, 2, 2),
])
def test_a_full_bucket_gives_its_burst_then_nothing(rate, burst, at_once) -> None:
    bucket = TokenBucket(rate, burst, clock=Clock())
    assert [bucket.take() for _ in range(at_once + 3)] == [True] * at_once + [False] * 3


@pytest.mark.parametrize(("rate", "wait", "more"), [(1.0, 1.0, 1), (10.0, 0.35, 3), (1.0, 0.5, 0),
                                                    (2.0, 100.0, 2)])
def test_tokens_come_back_at_the_rate_up_to_the_burst(rate, wait, more) -> None:
    clock = Clock()
    bucket = TokenBucket(rate, clock=clock)
    while bucket.take():
        pass
    clock.now += wait
    assert sum(bucket.take() for _ in range(10)) == more
