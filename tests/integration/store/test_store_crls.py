"""store/crls.py: numbers taken under the builder lock, the latest CRL, pruning."""
from __future__ import annotations

from datetime import timedelta

from support.rows import NOW

from acmeeh.store import crls


def build(conn, tag: bytes) -> crls.CRLRow:
    crls.lock_builder(conn)
    number = crls.take_number(conn)
    return crls.insert_crl(conn, number=number, der=tag, this_update=NOW,
                           next_update=NOW + timedelta(days=1), entries=0, revoked_total=0,
                           revoked_newest=None)


def test_numbers_grow_and_the_latest_wins(conn) -> None:
    before = crls.lock_builder(conn)
    first, second = build(conn, b"one"), build(conn, b"two")
    assert (first.number, second.number) == (before + 1, before + 2)
    assert crls.lock_builder(conn) == second.number
    latest = crls.latest_crl(conn)
    assert latest == second and latest.der == b"two"
    info = crls.latest_crl_info(conn)
    assert info is not None and info.number == second.number and not hasattr(info, "der")


def test_prune_keeps_the_newest(conn) -> None:
    made = [build(conn, bytes([i])) for i in range(4)]
    assert crls.prune_crls(conn, keep=1) >= 3
    assert crls.latest_crl(conn) == made[-1]
    assert conn.execute("SELECT count(*) FROM crls").fetchone() == (1,)
