"""pending → ready happens once every authorization of an order is valid (RFC 8555 §7.1.6),
also when the last two turn valid at once. A passed validation, or an answer accepted in
trusted-network mode, is one autocommit statement that promotes what its snapshot shows
complete; a second statement, once the first has committed, promotes an order whose other
authorization turned valid concurrently."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import psycopg
import pytest

from acmeeh.authority import states

JOIN_SECONDS = 20


def _pass(conn: psycopg.Connection, authz_id, *, answered: bool):
    """What a passed validation (or, `answered`, an accepted answer) does to the http-01
    challenge of the authorization (authority.states.pass_challenge / accept_challenge)."""
    status = "pending" if answered else "processing"
    (challenge_id,) = conn.execute(
        "UPDATE challenges SET status = %s WHERE authorization_id = %s AND type = 'http-01'"
        " RETURNING id", (status, authz_id)).fetchone()
    now = conn.execute("SELECT now()").fetchone()[0]
    move = states.accept_challenge if answered else states.pass_challenge
    extra = {} if answered else {"records": []}
    return move(conn, challenge_id, authz_id, now=now, expires=now + timedelta(hours=1), **extra)


@pytest.mark.parametrize("answered", [False, True], ids=["validated", "accepted"])
def test_last_two_authorizations_valid_at_once_promote_the_order(db_url, seed, make_env,
                                                                  answered: bool):
    """Both statements take their snapshot before either commits (each waits on its
    authorization, locked here), so neither sees the other authorization valid: the second
    statement of the one that finishes last promotes the order."""
    expires = make_env().env.clock() + timedelta(hours=1)
    account = seed.account()
    first, second = seed.authz(account, expires=expires), seed.authz(account, expires=expires)
    order = seed.order(account, expires=expires, authzs=(first, second))
    results: dict[object, object] = {}

    def validate(authz_id) -> None:
        try:
            with psycopg.connect(db_url, autocommit=True) as conn:
                results[authz_id] = _pass(conn, authz_id, answered=answered)
        except Exception as exc:  # noqa: BLE001 - carried to the main thread and asserted there
            results["error"] = exc

    threads = [threading.Thread(target=validate, args=(a,), daemon=True) for a in (first, second)]
    with psycopg.connect(db_url, autocommit=True) as gate:
        with gate.transaction():
            gate.execute("SELECT 1 FROM authorizations WHERE id = ANY(%s) FOR UPDATE",
                         ([first, second],))
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + JOIN_SECONDS
            while seed.one("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                           " AND datname = current_database()") < 2:
                assert time.monotonic() < deadline, "the statements never reached the lock"
                time.sleep(0.02)
    for thread in threads:
        thread.join(timeout=JOIN_SECONDS)
        assert not thread.is_alive()

    assert "error" not in results, results
    assert all(results[a] is not None and results[a][1] is not None for a in (first, second))
    assert seed.one("SELECT status FROM orders WHERE id = %s", order) == "ready"


def test_an_order_with_a_pending_authorization_stays_pending(seed, make_env, pool):
    env = make_env().env
    expires = env.clock() + timedelta(hours=1)
    account = seed.account()
    done, waiting = seed.authz(account, expires=expires), seed.authz(account, expires=expires)
    order = seed.order(account, expires=expires, authzs=(done, waiting))
    solo = seed.order(account, expires=expires, authzs=(done,))
    with pool.connection() as conn:
        assert _pass(conn, done, answered=False) is not None
    assert seed.one("SELECT status FROM orders WHERE id = %s", order) == "pending"
    assert seed.one("SELECT status FROM orders WHERE id = %s", solo) == "ready"
