"""Identifier rules over HTTP (issue 11 items 7-8, issue 12 item 3) against a running server.

Syntax and size are `malformed`; policy is `rejectedIdentifier`; each refused identifier is a
subproblem naming it (RFC 8555 §6.7.1); a refused newOrder creates no order, so nothing can
ever be signed for it.
"""
from __future__ import annotations

import pytest
from support.acme_client import ERROR_PREFIX, PROBLEM_JSON, AcmeClient, expect
from trust_support import nothing_signed, orders_of, unique

M, R = "malformed", "rejectedIdentifier"


@pytest.fixture(scope="module")
def client(trust_server) -> AcmeClient:
    account = AcmeClient(trust_server.directory_url)
    expect(account.new_account(), 201)
    return account


def dns(value: str) -> dict:
    return {"type": "dns", "value": value}


def ip(value: str) -> dict:
    return {"type": "ip", "value": value}


CASES = [
    # forbidden names written loosely in the configuration still block (item 7)
    pytest.param([dns("forbidden.trust.test")], R, id="forbidden-name"),
    pytest.param([dns("deep.www.forbidden.trust.test")], R, id="under-forbidden-name"),
    pytest.param([dns("*.forbidden.trust.test")], R, id="wildcard-forbidden-name"),
    pytest.param([dns("xn--bcher-kva.trust.test")], R, id="forbidden-u-label-entry"),
    # ip identifiers (item 8): special ranges are refused unless an allowed network holds them
    pytest.param([ip("::1")], R, id="ipv6-loopback"),
    pytest.param([ip("169.254.10.1")], R, id="link-local"),
    pytest.param([ip("fe80::1")], R, id="ipv6-link-local"),
    pytest.param([ip("224.0.0.251")], R, id="multicast"),
    pytest.param([ip("0.0.0.0")], R, id="unspecified"),
    pytest.param([ip("::ffff:10.0.0.1")], R, id="ipv4-mapped"),
    pytest.param([ip("::10.0.0.1")], R, id="ipv4-compatible"),
    pytest.param([ip("192.0.2.1")], R, id="outside-allowed-networks"),
    # syntax and size (issue 12 item 3)
    pytest.param([ip("10.0.0.01")], M, id="ip-leading-zero"),
    pytest.param([ip("2001:DB8::1")], M, id="ipv6-upper-case"),
    pytest.param([ip("2001:db8:0:0:0:0:0:1")], M, id="ipv6-uncompressed"),
    pytest.param([dns("Bücher.trust.test")], M, id="u-label"),
    pytest.param([dns("host.trust.test.")], M, id="trailing-dot"),
    pytest.param([dns("bad..trust.test")], M, id="empty-label"),
    pytest.param([dns("a" * 64 + ".trust.test")], M, id="label-over-63"),
    pytest.param([dns(".".join(["a" * 60] * 5))], M, id="name-over-253"),
    pytest.param([dns("under_score.trust.test")], M, id="bad-character"),
    pytest.param([dns("a.*.trust.test")], M, id="malformed-wildcard"),
    pytest.param([dns("10.0.0.1")], M, id="ip-as-dns"),
    pytest.param([dns(f"h{i}.trust.test") for i in range(6)], M, id="too-many-identifiers"),
]


@pytest.mark.parametrize(("identifiers", "problem"), CASES)
def test_refused_identifier(trust_server, client: AcmeClient, identifiers: list[dict],
                            problem: str) -> None:
    before = orders_of(trust_server, client)
    response = client.new_order(identifiers)
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["type"] == ERROR_PREFIX + problem, body
    if len(identifiers) == 1:  # RFC 8555 §6.7.1: the subproblem names the identifier sent
        assert [s["identifier"] for s in body["subproblems"]] == identifiers
        assert body["subproblems"][0]["type"] == ERROR_PREFIX + problem
    assert orders_of(trust_server, client) == before
    nothing_signed(trust_server, client)


def test_every_refused_identifier_is_its_own_subproblem(trust_server, client: AcmeClient) -> None:
    sent = [dns(unique("fine")), dns("bad..name.trust.test"), dns("forbidden.trust.test"),
            ip("::1"), ip("10.0.0.001")]
    response = client.new_order(sent)
    body = response.json()
    assert (response.status_code, body["type"]) == (400, ERROR_PREFIX + "compound"), body
    subs = {(s["identifier"]["value"], s["type"].rsplit(":", 1)[1]) for s in body["subproblems"]}
    assert subs == {("bad..name.trust.test", M), ("forbidden.trust.test", R), ("::1", R),
                    ("10.0.0.001", M)}
    nothing_signed(trust_server, client)


@pytest.mark.parametrize("value", ["127.0.0.1", "10.20.30.40"])
def test_address_inside_allowed_networks_is_accepted(client: AcmeClient, value: str) -> None:
    created = expect(client.new_order([ip(value)]), 201).json()
    assert created["identifiers"] == [ip(value)]


def test_lower_case_is_folded_not_refused(client: AcmeClient) -> None:
    name = unique("Mixed").replace("Mixed", "MiXeD")
    created = expect(client.new_order([dns(name)]), 201).json()
    assert created["identifiers"] == [dns(name.lower())]
