"""Issue 11 item 6: finalize checks policy again against the configuration in force.

The authority runs in-process on a real PostgreSQL with a real CA: an order is made ready under
one configuration and finalized under another (as after a restart or a SIGHUP reload), or after
an operator adds an allowlist. Each refusal leaves the order ready and signs nothing.
"""
from __future__ import annotations

import pytest
from support.acme_client import make_csr
from trust_support import (
    certificates_of,
    new_account,
    order_now,
    read_order,
    ready_order,
    unique,
)

from acmeeh.authority import allowlists, orders
from acmeeh.authority.finalize import finalize
from acmeeh.protocol.messages import Finalize, NewOrder
from acmeeh.protocol.problems import Problem


def dns(value: str) -> dict:
    return {"type": "dns", "value": value}


def refused(env, account, order_id, csr: bytes) -> Problem:
    with pytest.raises(Problem) as info:
        finalize(env, account, read_order(env, order_id), Finalize(csr=csr))
    assert order_now(env, account, order_id).order.status == "ready"
    assert certificates_of(env, account) == 0
    return info.value


@pytest.mark.parametrize(
    ("later", "code"),
    [
        ({"security": {"identifiers": {"forbidden_names": ["forbid.localhost"]}}}, "rejectedIdentifier"),
        ({"security": {"identifiers": {"allowed_suffixes": ["elsewhere.test"],
                                       "ip_addresses": False}}}, "rejectedIdentifier"),
        ({"challenges": {"enabled": ["dns-01", "tls-alpn-01"]}}, "unauthorized"),
    ],
    ids=["name-now-forbidden", "suffix-no-longer-allowed", "validating-challenge-type-disabled"],
)
def test_finalize_applies_the_configuration_in_force(authority, later, code) -> None:
    before = authority()
    account, _ = new_account(before)
    name = unique("www", zone="forbid.localhost")
    order_id = ready_order(before, account, [dns(name)])
    csr, _ = make_csr([name])
    problem = refused(authority(later), account, order_id, csr)
    assert (problem.code, problem.status) == (code, 400 if code != "unauthorized" else 403)
    assert [s.identifier for s in problem.subproblems] == [dns(name)]
    # unchanged configuration: issued
    finalize(before, account, read_order(before, order_id), Finalize(csr=csr))
    assert certificates_of(before, account) == 1


def test_finalize_applies_the_allowed_networks_in_force(authority) -> None:
    before = authority()
    account, _ = new_account(before)
    order_id = ready_order(before, account, [{"type": "ip", "value": "10.9.8.7"}])
    later = authority({"security": {"identifiers": {"allowed_networks": ["10.0.0.0/16"]}}})
    csr, _ = make_csr(["10.9.8.7"])
    assert refused(later, account, order_id, csr).code == "rejectedIdentifier"


def test_finalize_applies_an_allowlist_added_after_validation(authority) -> None:
    env = authority()
    account, _ = new_account(env)
    name = unique("listed", zone="localhost")
    order_id = ready_order(env, account, [dns(name)])
    entry = allowlists.add_entry(env, scope="account", scope_id=str(account.id), kind="suffix",
                                 value="other.localhost", actor="test")
    try:
        problem = refused(env, account, order_id, make_csr([name])[0])
    finally:
        allowlists.remove_entry(env, entry.id)
    assert problem.code == "rejectedIdentifier"


def test_new_order_does_not_reuse_an_authorization_of_a_disabled_type(authority) -> None:
    before = authority()
    account, _ = new_account(before)
    name = unique("reuse", zone="localhost")
    ready_order(before, account, [dns(name)])  # validated by http-01
    later = authority({"challenges": {"enabled": ["tls-alpn-01"]}})
    state = orders.new_order(later, account, _new_order([name]))
    assert [a.status for a in state.authorizations] == ["pending"]
    assert orders.new_order(before, account, _new_order([name])).order.status == "ready"


def _new_order(names: list[str]) -> NewOrder:
    return NewOrder.from_object({"identifiers": [dns(n) for n in names]})
