"""store/ratelimits.py: a counter taken up to its limit and given back, each one statement."""
from __future__ import annotations

from datetime import timedelta

from support.rows import NOW

from acmeeh.store import ratelimits


def take(conn, limit: int = 2):
    return ratelimits.take(conn, "orders", "acct", window_start=NOW,
                           window_end=NOW + timedelta(hours=1), limit=limit)


def count(conn):
    return conn.execute("SELECT count FROM rate_limit_counters WHERE name = 'orders'").fetchone()


def test_take_counts_up_to_the_limit_and_refuses_without_counting(conn) -> None:
    assert [take(conn), take(conn), take(conn)] == [1, 2, None]
    assert count(conn) == (2,)


def test_give_back_takes_one_off_and_a_count_of_one_goes_away(conn) -> None:
    take(conn), take(conn)
    ratelimits.give_back(conn, "orders", "acct", window_start=NOW)
    assert count(conn) == (1,)
    ratelimits.give_back(conn, "orders", "acct", window_start=NOW)
    assert count(conn) is None
    assert ratelimits.delete_expired(conn, NOW + timedelta(hours=2), 10) == 0
