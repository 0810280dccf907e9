"""CAA (RFC 8659, RFC 8657) against a real DNS server on loopback (issue 11 item 1).

The trust server names `ca.trust.test` as its issuer domain and asks the worker's dnslib
server, which serves the CAA, CNAME and SERVFAIL answers each test sets. A refusal at
validation makes the challenge invalid with `caa`; a refusal at finalize answers `caa` 403
with a subproblem per identifier. Either way nothing is signed.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.acme_client import (ERROR_PREFIX, AcmeClient, Http01Responder, answer_dns01, expect,
                                 make_csr)
from support.dns import ZoneServer
from support.server import RunningServer
from trust_support import CAA_DOMAIN, db, nothing_signed, signed_for, unique

CAA = ERROR_PREFIX + "caa"


@pytest.fixture
def client(trust_server) -> AcmeClient:
    account = AcmeClient(trust_server.directory_url)
    expect(account.new_account(), 201)
    return account


@pytest.fixture
def host(trust_server) -> Iterator[str]:
    """A fresh name that resolves to loopback (for http-01); its records go afterwards."""
    name = unique("caa")
    trust_server.dns.set_a(name, "127.0.0.1")
    yield name
    for label in (name, name.split(".", 1)[1]):
        trust_server.dns.set_caa(label, [])


def answer(client: AcmeClient, order: dict, http01: Http01Responder | None,
           dns: ZoneServer | None = None) -> list[dict]:
    """Respond to every authorization's challenge and wait for each to finish."""
    done = []
    for url in order["authorizations"]:
        authz = expect(client.get_authz(url), 200).json()
        kinds = {c["type"]: c for c in authz["challenges"]}
        kind = "http-01" if http01 is not None and "http-01" in kinds else "dns-01"
        token = kinds[kind]["token"]
        if kind == "http-01":
            http01.add(token, client.key_authorization(token))
        else:
            answer_dns01(dns, authz["identifier"]["value"], client.key_authorization(token))
        expect(client.respond(kinds[kind]["url"]), 200)
        done.append(expect(client.poll(url, {"valid", "invalid"}), 200).json())
    return done


def refused_at_validation(trust_server, client, names, http01, dns=None) -> dict:
    created = expect(client.new_order(names), 201)
    authzs = answer(client, created.json(), http01, dns)
    assert [a["status"] for a in authzs] == ["invalid"] * len(names), authzs
    error = next(c["error"] for c in authzs[0]["challenges"] if c.get("error"))
    assert error["type"] == CAA, error
    order = expect(client.post(created.headers["Location"]), 200).json()
    assert order["status"] == "invalid"
    nothing_signed(trust_server, client)
    return error


@pytest.mark.parametrize(
    ("records", "at"),
    [
        ([(0, "issue", "other-ca.test")], "name"),
        ([(0, "issue", ";")], "name"),
        ([(0, "issue", "other-ca.test")], "parent"),  # the tree is climbed
        ([(128, "tbs", "unknown"), (0, "issue", CAA_DOMAIN)], "name"),  # critical, unknown tag
        ([(0, "issue", f"{CAA_DOMAIN}; validationmethods=dns-01")], "name"),  # RFC 8657 §4
        ([(0, "issue", f"{CAA_DOMAIN}; accounturi=https://elsewhere.test/acct/1")], "name"),
    ],
    ids=["other-ca", "nobody", "parent-forbids", "critical-unknown-tag", "validationmethods",
         "accounturi-of-another"],
)
def test_caa_refuses_at_validation(trust_server, trust_http01, client, host, records, at) -> None:
    owner = host if at == "name" else host.split(".", 1)[1]
    trust_server.dns.set_caa(owner, records)
    error = refused_at_validation(trust_server, client, [host], trust_http01)
    assert host in error["detail"]


@pytest.mark.parametrize(
    "records",
    [
        [],
        [(0, "issue", CAA_DOMAIN)],
        [(0, "issue", "other-ca.test"), (0, "issue", f"{CAA_DOMAIN.upper()}.")],
        [(0, "issue", f"{CAA_DOMAIN}; validationmethods=http-01,dns-01")],
        [(0, "iodef", "mailto:security@trust.test")],
        [(0, "issuewild", "other-ca.test")],  # governs wildcard names only
    ],
    ids=["no-caa", "names-us", "one-of-two", "validationmethods-http-01", "iodef-only",
         "issuewild-only"],
)
def test_caa_allows(trust_server, trust_http01, client, host, records) -> None:
    trust_server.dns.set_caa(host, records)
    client.obtain_certificate([host], http01=trust_http01)
    assert signed_for(trust_server, client) == 1


def test_accounturi_of_this_account_allows(trust_server, trust_http01, client, host) -> None:
    trust_server.dns.set_caa(host, [(0, "issue", f"{CAA_DOMAIN}; accounturi={client.kid}")])
    client.obtain_certificate([host], http01=trust_http01)
    assert signed_for(trust_server, client) == 1


def test_caa_through_a_cname(trust_server, trust_http01, client, host) -> None:
    """RFC 8659 §3: the resolver follows the CNAME; the target's CAA set applies."""
    target = unique("target", zone="elsewhere.test")
    trust_server.dns.set_cname(host, target)
    trust_server.dns.set_a(target, "127.0.0.1")
    trust_server.dns.set_caa(target, [(0, "issue", "other-ca.test")])
    refused_at_validation(trust_server, client, [host], trust_http01)


def test_servfail_fails_closed(trust_server, trust_http01, client, host) -> None:
    parent = host.split(".", 1)[1]
    trust_server.dns.fail(parent)
    try:
        error = refused_at_validation(trust_server, client, [host], trust_http01)
    finally:
        trust_server.dns.fail(parent, on=False)
    assert "CAA lookup" in error["detail"] and "failed" in error["detail"]


def test_issuewild_governs_wildcards(trust_server, client, host) -> None:
    """RFC 8659 §4.3: issuewild replaces issue for a wildcard name (validated by dns-01)."""
    trust_server.dns.set_caa(host, [(0, "issuewild", "other-ca.test"), (0, "issue", CAA_DOMAIN)])
    refused_at_validation(trust_server, client, [f"*.{host}"], None, trust_server.dns)
    trust_server.dns.set_caa(host, [(0, "issuewild", CAA_DOMAIN), (0, "issue", "other-ca.test")])
    other = AcmeClient(trust_server.directory_url)
    expect(other.new_account(), 201)
    other.obtain_certificate([f"*.{host}"], dns=trust_server.dns)
    assert signed_for(trust_server, other) == 1


# --- at finalize: checked again when older than caa.recheck_after_seconds --------------


def ready(client: AcmeClient, names: list[str], http01) -> dict:
    created = expect(client.new_order(names), 201)
    client.complete_authorizations(created.json(), http01=http01)
    order = expect(client.poll(created.headers["Location"], {"ready"}), 200).json()
    assert order["status"] == "ready"
    return {**order, "url": created.headers["Location"]}


def age_caa_checks(server: RunningServer, order: dict, hours: float) -> None:
    ids = [url.rsplit("/", 1)[1] for url in order["authorizations"]]
    with db(server) as conn:
        conn.execute("UPDATE authorizations SET caa_checked_at = now() - %s * interval '1 hour'"
                     " WHERE id = ANY(%s::uuid[])", (hours, ids))


def test_finalize_rechecks_caa_older_than_eight_hours(trust_server, trust_http01, client) -> None:
    names = [unique("recheck"), unique("recheck")]
    for name in names:
        trust_server.dns.set_a(name, "127.0.0.1")
    order = ready(client, names, trust_http01)
    for name in names:  # CAA changes after validation
        trust_server.dns.set_caa(name, [(0, "issue", "other-ca.test")])
    csr, _ = make_csr(names)

    queries_before = len(trust_server.dns.queries)
    age_caa_checks(trust_server, order, 8.1)
    response = client.finalize(order, csr)
    body = response.json()
    assert (response.status_code, body["type"]) == (403, CAA), body
    assert sorted(s["identifier"]["value"] for s in body["subproblems"]) == sorted(names)
    assert {s["type"] for s in body["subproblems"]} == {CAA}
    assert len(trust_server.dns.queries) > queries_before
    assert expect(client.post(order["url"]), 200).json()["status"] == "ready"
    nothing_signed(trust_server, client)

    for name in names:  # CAA allows again: the same order goes through
        trust_server.dns.set_caa(name, [])
    expect(client.finalize(order, csr), 200)
    assert client.poll(order["url"], {"valid"}).json()["status"] == "valid"
    assert signed_for(trust_server, client) == 1


def test_finalize_within_the_recheck_age_does_not_ask_again(trust_server, trust_http01,
                                                            client, host) -> None:
    order = ready(client, [host], trust_http01)
    trust_server.dns.set_caa(host, [(0, "issue", "other-ca.test")])
    age_caa_checks(trust_server, order, 7.9)
    expect(client.finalize(order, make_csr([host])[0]), 200)
    assert signed_for(trust_server, client) == 1


def test_finalize_recheck_servfail_fails_closed(trust_server, trust_http01, client, host) -> None:
    order = ready(client, [host], trust_http01)
    age_caa_checks(trust_server, order, 9)
    trust_server.dns.fail(host)
    try:
        response = client.finalize(order, make_csr([host])[0])
    finally:
        trust_server.dns.fail(host, on=False)
    assert (response.status_code, response.json()["type"]) == (403, CAA)
    nothing_signed(trust_server, client)


# --- configuration ------------------------------------------------------------------------

AUTO_ACCEPT_CAA = {
    "acme": {"caa_identities": [CAA_DOMAIN]},
    "challenges": {"auto_accept": True},
    "security": {"identifiers": {"allowed_suffixes": ["trust.test"], "ip_addresses": False}},
}


def test_trusted_network_mode_still_checks_caa(start_acme_server) -> None:
    """challenges.auto_accept skips the proof of control, not CAA."""
    server = start_acme_server(AUTO_ACCEPT_CAA, workers=1)
    client = AcmeClient(server.directory_url)
    expect(client.new_account(), 201)
    forbidden, allowed = unique("auto-no"), unique("auto-yes")
    server.dns.set_caa(forbidden, [(0, "issue", "other-ca.test")])
    try:
        error = refused_at_validation(server, client, [forbidden], None, server.dns)
        assert forbidden in error["detail"]
        created = expect(client.new_order([allowed]), 201).json()
        authz = expect(client.get_authz(created["authorizations"][0]), 200).json()
        challenge = next(c for c in authz["challenges"] if c["type"] == "http-01")
        assert expect(client.respond(challenge["url"]), 200).json()["status"] == "valid"
    finally:
        server.dns.set_caa(forbidden, [])


def test_caa_disabled_logs_a_warning_and_checks_nothing(start_acme_server) -> None:
    server = start_acme_server({"acme": {"caa_identities": [CAA_DOMAIN]},
                                "caa": {"enabled": False}}, workers=1)
    assert "caa.enabled is false: CAA records (RFC 8659) are not checked" in server.log_tail()
    name = unique("nocaa")
    server.dns.set_a(name, "127.0.0.1")
    server.dns.set_caa(name, [(0, "issue", "other-ca.test")])
    try:
        with Http01Responder(server.http01_port) as http01:
            client = AcmeClient(server.directory_url)
            expect(client.new_account(), 201)
            client.obtain_certificate([name], http01=http01)
        assert signed_for(server, client) == 1
    finally:
        server.dns.set_caa(name, [])
