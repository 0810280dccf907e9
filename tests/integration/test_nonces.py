"""Nonces (RFC 8555 §6.5): minted without a write, accepted once on any instance."""
from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from acmeeh.authority import nonces
from acmeeh.authority.env import Env
from acmeeh.store import db
from support.database import migrated_database

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pool():
    with migrated_database("nonces") as url:
        database = SimpleNamespace(url=url, min_connections=1, max_connections=4, connect_timeout=5,
                                   acquire_timeout_seconds=5, prepare_threshold=2)
        pool = db.open_pool(database, wait=True)
        yield pool
        pool.close()


def make_env(pool, *, key: bytes | None = None, now: datetime = NOW) -> Env:
    if key is None:
        with pool.connection() as conn:
            key = nonces.load_key(conn)
    settings = SimpleNamespace(nonce=SimpleNamespace(lifetime_seconds=60))
    return Env(settings=settings, pool=pool, ca=None, validator=None, dispatch=lambda _: None,
               clock=lambda: now, nonce_key=key)


def test_every_instance_shares_one_key(pool):
    with pool.connection() as conn:
        assert nonces.load_key(conn) == nonces.load_key(conn)


def test_a_nonce_is_accepted_once_across_instances(pool):
    first, second = make_env(pool), make_env(pool)
    value = nonces.new_nonce(first)
    assert nonces.redeem(second, value)
    assert not nonces.redeem(first, value)
    assert not nonces.redeem(second, value)


_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _flip_last_byte(value: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    raw[-1] ^= 1
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


@pytest.mark.parametrize("mangle", [
    pytest.param(_flip_last_byte, id="forged tag"),
    pytest.param(lambda v: v[:-4], id="truncated"),
    pytest.param(lambda v: v + "AAAA", id="too long"),
    pytest.param(lambda v: "!" * len(v), id="not base64url"),
    pytest.param(lambda v: "", id="empty"),
    pytest.param(lambda v: "A" * 500, id="huge"),
    pytest.param(lambda v: v + "==", id="padded"),
    pytest.param(lambda v: "...." + v, id="stray characters"),
    pytest.param(lambda v: v.replace("-", "+").replace("_", "/") if set(v) & set("-_") else v + "=",
                 id="standard alphabet"),
    pytest.param(lambda v: v[:-1] + _B64URL[_B64URL.index(v[-1]) ^ 1], id="unused low bits"),
])
def test_tampered_nonces_are_refused(pool, mangle):
    env = make_env(pool)
    value = nonces.new_nonce(env)
    assert not nonces.redeem(env, mangle(value))
    assert nonces.redeem(env, value)  # the refused spelling did not use the nonce up


def test_expired_nonce_is_refused(pool):
    value = nonces.new_nonce(make_env(pool))
    assert not nonces.redeem(make_env(pool, now=NOW + timedelta(seconds=61)), value)


def test_another_deployments_nonce_is_refused(pool):
    value = nonces.new_nonce(make_env(pool, key=b"k" * 32))
    assert not nonces.redeem(make_env(pool), value)
