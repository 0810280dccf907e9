"""store/orders.py: the fused creation, the promotion pending → ready, the compare-and-set."""
from __future__ import annotations

import pytest
from support.rows import account, create

from acmeeh.protocol.status import AuthzStatus, OrderStatus
from acmeeh.store import orders
from acmeeh.store.paging import Page

def test_create_with_authorizations_inserts_everything_in_one_statement(conn) -> None:
    owner = account(conn)
    order, authzs = create(conn, owner, ["b.example", "a.example"])
    assert order.status is OrderStatus.PENDING and order.account_id == owner
    assert sorted(a.identifier_value for a in authzs) == ["a.example", "b.example"]
    assert all(a.status is AuthzStatus.PENDING for a in authzs)
    challenges = conn.execute("SELECT count(*) FROM challenges WHERE authorization_id = ANY(%s)",
                              ([a.id for a in authzs],)).fetchone()
    assert challenges == (4,)
    found = orders.get_with_authorizations(conn, order.id)
    assert found is not None and found[0] == order
    assert [a.identifier_value for a in found[1]] == ["a.example", "b.example"]  # by identifier


def test_create_reuses_existing_authorizations(conn) -> None:
    owner = account(conn)
    _, (kept,) = create(conn, owner, ["a.example"])
    order, new = create(conn, owner, ["b.example"], reused=[kept.id])
    assert len(new) == 1
    found = orders.get_with_authorizations(conn, order.id)
    assert found is not None and {a.id for a in found[1]} == {kept.id, new[0].id}


@pytest.mark.parametrize(("statuses", "promoted"), [
    (["valid", "valid"], True),
    (["valid", "pending"], False),
    (["valid", "invalid"], False),
])
def test_promote_completed_moves_orders_whose_authorizations_are_all_valid(
        conn, statuses: list[str], promoted: bool) -> None:
    owner = account(conn)
    order, authzs = create(conn, owner, ["a.example", "b.example"])
    for authz, status in zip(authzs, statuses, strict=True):
        conn.execute("UPDATE authorizations SET status = %s WHERE id = %s", (status, authz.id))
    moved = orders.promote_completed(conn, authzs[0].id, from_status=OrderStatus.PENDING,
                                     to_status=OrderStatus.READY)
    assert [o.id for o in moved] == ([order.id] if promoted else [])
    assert orders.get_order(conn, order.id).status is (
        OrderStatus.READY if promoted else OrderStatus.PENDING)


def test_move_is_a_compare_and_set(conn) -> None:
    owner = account(conn)
    order, _ = create(conn, owner, ["a.example"])
    error = {"type": "urn:ietf:params:acme:error:serverInternal"}
    moved = orders.transition(conn, order.id, from_status=OrderStatus.PENDING,
                              to_status=OrderStatus.INVALID, error=error)
    assert moved is not None and moved.status is OrderStatus.INVALID and moved.error == error
    again = orders.transition(conn, order.id, from_status=OrderStatus.PENDING,
                              to_status=OrderStatus.READY)
    assert again is None


def test_account_orders_page_by_page(conn) -> None:
    owner = account(conn)
    made = {create(conn, owner, [f"{i}.example"])[0].id for i in range(3)}
    first = orders.list_account_orders(conn, owner, Page(limit=2))
    last = first[-1]
    rest = orders.list_account_orders(conn, owner, Page(limit=2, after_created=last.created_at,
                                                        after_key=str(last.id)))
    assert len(first) == 2 and {o.id for o in first} | {o.id for o in rest} == made
    assert orders.count_account_orders(conn, owner) == 3
    locked = orders.orders_for_authorization(
        conn, orders.get_with_authorizations(conn, last.id)[1][0].id, OrderStatus.PENDING)
    assert [o.id for o in locked] == [last.id]
