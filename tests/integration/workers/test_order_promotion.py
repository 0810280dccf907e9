"""pending → ready happens once every authorization of an order is valid (RFC 8555 §7.1.6),
also when the last two turn valid in concurrent transactions: the statement that passes the
challenge locks the orders before the promotion looks, so the second transaction sees the
first one's commit."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import psycopg

from acmeeh.authority import states

JOIN_SECONDS = 20


def _validate(conn: psycopg.Connection, authz_id) -> list:
    """What a passed validation does: its http-01 challenge processing → valid, the
    authorization valid and its completed orders ready (authority.states.pass_challenge)."""
    row = conn.execute("UPDATE challenges SET status = 'processing' WHERE authorization_id = %s"
                       " AND type = 'http-01' RETURNING id", (authz_id,)).fetchone()
    assert row is not None
    now = datetime.now(UTC)
    passed = states.pass_challenge(conn, row[0], authz_id, now=now,
                                   expires=now + timedelta(hours=1), records=[])
    assert passed is not None and passed[1] is not None
    return passed[2]


def test_last_two_authorizations_valid_at_once_promote_the_order(db_url, seed, make_env):
    env = make_env().env
    expires = env.clock() + timedelta(hours=1)
    account = seed.account()
    first, second = seed.authz(account, expires=expires), seed.authz(account, expires=expires)
    order = seed.order(account, expires=expires, authzs=(first, second))
    results: dict[str, object] = {}

    with psycopg.connect(db_url, autocommit=True) as one, psycopg.connect(db_url, autocommit=True) as two:
        tx = one.transaction()
        tx.__enter__()
        assert _validate(one, first) == []  # the other authorization is still pending

        def other() -> None:
            try:
                with two.transaction():
                    results["moved"] = _validate(two, second)
            except Exception as exc:  # noqa: BLE001 - carried to the main thread and asserted there
                results["error"] = exc

        thread = threading.Thread(target=other, daemon=True)
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive(), "the second promotion must wait for the first transaction"
        tx.__exit__(None, None, None)  # commit the first validation
        thread.join(timeout=JOIN_SECONDS)
        assert not thread.is_alive()

    assert "error" not in results, results
    moved = results["moved"]
    assert [o.id for o in moved] == [order] and moved[0].status == "ready"
    assert seed.one("SELECT status FROM orders WHERE id = %s", order) == "ready"


def test_an_order_with_a_pending_authorization_stays_pending(seed, make_env, pool):
    env = make_env().env
    expires = env.clock() + timedelta(hours=1)
    account = seed.account()
    done, waiting = seed.authz(account, expires=expires), seed.authz(account, expires=expires)
    order = seed.order(account, expires=expires, authzs=(done, waiting))
    solo = seed.order(account, expires=expires, authzs=(done,))
    with pool.connection() as conn, conn.transaction():
        moved = _validate(conn, done)
    assert [o.id for o in moved] == [solo]
    assert seed.one("SELECT status FROM orders WHERE id = %s", order) == "pending"
    assert seed.one("SELECT status FROM orders WHERE id = %s", solo) == "ready"
