"""pending → ready happens once every authorization of an order is valid (RFC 8555 §7.1.6),
also when the last two turn valid in concurrent transactions: the statement that passes the
challenge locks the orders before the promotion looks, so the second transaction sees the
first one's commit; in trusted-network mode, where each answer is one autocommit statement,
a second statement promotes once the first has committed."""
from __future__ import annotations

import threading
import time
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


def test_last_two_authorizations_accepted_at_once_promote_the_order(db_url, seed, make_env):
    """Trusted-network mode: each answer is one autocommit statement. When both statements
    took their snapshot before either committed, neither sees the other authorization valid;
    the second statement of the one that finishes last does, and promotes the order."""
    env = make_env().env
    expires = env.clock() + timedelta(hours=1)
    account = seed.account()
    first, second = seed.authz(account, expires=expires), seed.authz(account, expires=expires)
    order = seed.order(account, expires=expires, authzs=(first, second))
    results: dict[object, object] = {}

    def accept(authz_id) -> None:
        try:
            with psycopg.connect(db_url, autocommit=True) as conn:
                (challenge_id,) = conn.execute(
                    "SELECT id FROM challenges WHERE authorization_id = %s AND type = 'http-01'",
                    (authz_id,)).fetchone()
                now = env.clock()
                results[authz_id] = states.accept_challenge(conn, challenge_id, authz_id, now=now,
                                                            expires=now + timedelta(hours=1))
        except Exception as exc:  # noqa: BLE001 - carried to the main thread and asserted there
            results["error"] = exc

    threads = [threading.Thread(target=accept, args=(a,), daemon=True) for a in (first, second)]
    with psycopg.connect(db_url, autocommit=True) as gate:
        with gate.transaction():  # both statements start, then wait here on an authorization
            gate.execute("SELECT 1 FROM authorizations WHERE id = ANY(%s) FOR UPDATE",
                         ([first, second],))
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + JOIN_SECONDS
            while seed.one("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                           " AND datname = current_database()") < 2:
                assert time.monotonic() < deadline, "the answers never reached the lock"
                time.sleep(0.02)
    for thread in threads:
        thread.join(timeout=JOIN_SECONDS)
        assert not thread.is_alive()

    assert "error" not in results, results
    assert all(results[a] is not None for a in (first, second))
    assert seed.one("SELECT status FROM orders WHERE id = %s", order) == "ready"
