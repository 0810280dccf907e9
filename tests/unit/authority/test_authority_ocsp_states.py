"""authority/ocsp_states.py: what the OCSP responder may answer from memory, and when not."""
from __future__ import annotations

from datetime import UTC, datetime

from acmeeh.authority.ocsp_states import StateCache
from acmeeh.issuance.ocsp import GOOD, CertState

REVOKED = CertState("revoked", datetime(2026, 1, 1, tzinfo=UTC), 1)


def live(size: int = 10) -> StateCache:
    cache = StateCache(size)
    cache.go_live()
    return cache


def test_nothing_is_remembered_until_the_listener_hears() -> None:
    cache = StateCache(10)
    cache.put("a1", GOOD, cache.ticket())
    assert cache.get("a1") is None and len(cache) == 0
    cache.go_live()
    cache.put("a1", GOOD, cache.ticket())
    assert cache.get("a1") == GOOD


def test_an_announcement_forgets_the_serial() -> None:
    cache = live()
    cache.put("a1", GOOD, cache.ticket())
    cache.put("b2", GOOD, cache.ticket())
    cache.forget("a1")
    assert cache.get("a1") is None and cache.get("b2") == GOOD


def test_a_read_that_raced_an_announcement_is_not_put_back() -> None:
    """Read before the revocation committed, put after it was announced: refused, or the stale
    'good' would be answered until the next announcement."""
    cache = live()
    ticket = cache.ticket()  # the request starts reading the database
    cache.forget("a1")  # the revocation is announced meanwhile
    cache.put("a1", GOOD, ticket)
    assert cache.get("a1") is None
    cache.put("a1", REVOKED, cache.ticket())  # the next read puts what it read
    assert cache.get("a1") == REVOKED


def test_going_dark_forgets_everything_and_refuses_older_reads() -> None:
    cache = live()
    cache.put("a1", GOOD, cache.ticket())
    ticket = cache.ticket()
    cache.go_dark()
    assert cache.get("a1") is None and not cache.live
    cache.put("a1", GOOD, ticket)
    assert len(cache) == 0
    cache.go_live()  # live again: starts from nothing, and a read from before stays refused
    cache.put("a1", GOOD, ticket)
    assert cache.get("a1") is None


def test_bounded_least_recently_used_first() -> None:
    cache = live(size=2)
    for serial in ("a1", "b2"):
        cache.put(serial, GOOD, cache.ticket())
    assert cache.get("a1") == GOOD  # a1 is now the most recent
    cache.put("c3", GOOD, cache.ticket())
    assert (cache.get("a1"), cache.get("b2"), cache.get("c3")) == (GOOD, None, GOOD)
    assert len(cache) == 2
