"""CAA (RFC 8659) tree climbing and property processing against a real dnslib server."""

from __future__ import annotations

import pytest
from dnslib import CAA, CNAME, A

from acmeeh.validation import NetworkValidator

from .conftest import dns_id, ip_id

OURS = ("ca.internal.test",)
ACCOUNT = "https://acme.internal.test/acme/account/1"


def caa_problem(settings, identifier, issuer_domains=OURS, *, account=ACCOUNT, method="http-01"):
    return NetworkValidator(settings).check_caa(identifier, issuer_domains, account_uri=account,
                                         method=method)


def _records(zone, entries: list[tuple[str, int, str, str]]) -> None:
    for name, flags, tag, value in entries:
        zone.add(name, "CAA", CAA(flags, tag, value))


@pytest.mark.parametrize(
    ("records", "identifier", "problem"),
    [
        ([], "host.example.test", None),
        ([("host.example.test", 0, "issue", "ca.internal.test")], "host.example.test", None),
        ([("host.example.test", 0, "issue", "other-ca.test")], "host.example.test", "caa"),
        ([("host.example.test", 0, "issue", ";")], "host.example.test", "caa"),
        ([("host.example.test", 0, "issue", "")], "host.example.test", "caa"),
        (
            [
                ("host.example.test", 0, "issue", "other-ca.test"),
                ("host.example.test", 0, "issue", "ca.internal.test"),
            ],
            "host.example.test",
            None,
        ),
        # parameters (RFC 8657 accounturi) and spacing do not hide the issuer name
        (
            [("host.example.test", 0, "issue", f" ca.internal.test ; accounturi={ACCOUNT}")],
            "host.example.test",
            None,
        ),
        # tags and issuer names compare case-insensitively
        ([("host.example.test", 0, "ISSUE", "CA.Internal.Test")], "host.example.test", None),
        # RFC 8659 §4.1: critical unknown tag → refuse, even if issue allows us
        (
            [
                ("host.example.test", 128, "futuretag", "x"),
                ("host.example.test", 0, "issue", "ca.internal.test"),
            ],
            "host.example.test",
            "caa",
        ),
        ([("host.example.test", 128, "issue", "ca.internal.test")], "host.example.test", None),
        (
            [
                ("host.example.test", 0, "futuretag", "x"),
                ("host.example.test", 0, "issue", "ca.internal.test"),
            ],
            "host.example.test",
            None,
        ),
        ([("host.example.test", 0, "iodef", "mailto:sec@example.test")], "host.example.test", None),
        # tree climbing: the parent's set applies to children with none of their own
        ([("example.test", 0, "issue", "other-ca.test")], "a.b.host.example.test", "caa"),
        ([("example.test", 0, "issue", "ca.internal.test")], "a.b.host.example.test", None),
        ([("test", 0, "issue", "other-ca.test")], "host.example.test", "caa"),
        # the closest non-empty set wins
        (
            [
                ("example.test", 0, "issue", "other-ca.test"),
                ("host.example.test", 0, "issue", "ca.internal.test"),
            ],
            "host.example.test",
            None,
        ),
        (
            [
                ("example.test", 0, "issue", "ca.internal.test"),
                ("host.example.test", 0, "issue", "other-ca.test"),
            ],
            "host.example.test",
            "caa",
        ),
        # issuewild (RFC 8659 §4.3)
        (
            [
                ("w.example.test", 0, "issuewild", "ca.internal.test"),
                ("w.example.test", 0, "issue", "other-ca.test"),
            ],
            "*.w.example.test",
            None,
        ),
        (
            [
                ("w.example.test", 0, "issuewild", "ca.internal.test"),
                ("w.example.test", 0, "issue", "other-ca.test"),
            ],
            "w.example.test",
            "caa",
        ),
        (
            [
                ("w.example.test", 0, "issuewild", ";"),
                ("w.example.test", 0, "issue", "ca.internal.test"),
            ],
            "*.w.example.test",
            "caa",
        ),
        (
            [
                ("w.example.test", 0, "issuewild", ";"),
                ("w.example.test", 0, "issue", "ca.internal.test"),
            ],
            "w.example.test",
            None,
        ),
        ([("w.example.test", 0, "issue", "ca.internal.test")], "*.w.example.test", None),
        ([("w.example.test", 0, "issue", "other-ca.test")], "*.w.example.test", "caa"),
        ([("example.test", 0, "issuewild", "other-ca.test")], "*.w.example.test", "caa"),
    ],
)
def test_caa(make_settings, zone, records, identifier, problem) -> None:
    _records(zone, records)
    found = caa_problem(make_settings(), dns_id(identifier))
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.code == problem
        assert identifier in found.detail


def test_caa_follows_cname_at_a_level(make_settings, zone) -> None:
    zone.add("alias.example.test", "CNAME", CNAME("target.other.test"))
    zone.add("target.other.test", "A", A("10.0.0.1"))
    _records(zone, [("target.other.test", 0, "issue", "other-ca.test")])
    problem = caa_problem(make_settings(), dns_id("alias.example.test"))
    assert problem is not None and problem.code == "caa"


def test_caa_climbs_every_level_then_stops(make_settings, zone) -> None:
    assert caa_problem(make_settings(), dns_id("a.b.example.test")) is None
    assert [name for name, _ in zone.queries] == [
        "a.b.example.test.",
        "b.example.test.",
        "example.test.",
        "test.",
    ]


@pytest.mark.parametrize(
    ("records", "problem"),
    [
        ([("host.example.test", 0, "issue", ";")], "caa"),
        ([("host.example.test", 0, "issue", "ca.internal.test")], "caa"),
        ([("host.example.test", 0, "iodef", "mailto:sec@example.test")], None),
        ([], None),
    ],
)
def test_without_issuer_domains_any_issue_property_forbids(make_settings, zone, records,
                                                          problem) -> None:
    """An empty acme.caa_identities names no CA: any issue property forbids issuance, and a
    name without CAA records is allowed."""
    _records(zone, records)
    found = caa_problem(make_settings(), dns_id("host.example.test"), ())
    assert (found.code if found else None) == problem


@pytest.mark.parametrize(
    ("value", "account", "method", "problem"),
    [
        # RFC 8657 §3 accounturi
        ("ca.internal.test; accounturi=" + ACCOUNT, ACCOUNT, "http-01", None),
        ("ca.internal.test; accounturi=" + ACCOUNT, ACCOUNT + "0", "http-01", "caa"),
        ("ca.internal.test;accounturi=https://other.test/acct/9", ACCOUNT, "http-01", "caa"),
        # RFC 8657 §4 validationmethods
        ("ca.internal.test; validationmethods=dns-01", ACCOUNT, "dns-01", None),
        ("ca.internal.test; validationmethods=dns-01,tls-alpn-01", ACCOUNT, "tls-alpn-01", None),
        ("ca.internal.test; validationmethods=dns-01", ACCOUNT, "http-01", "caa"),
        # both, in any order, with spacing
        (f"ca.internal.test ; validationmethods=http-01 ; accounturi={ACCOUNT}", ACCOUNT,
         "http-01", None),
        # unknown parameters are ignored
        ("ca.internal.test; policy=ev", ACCOUNT, "http-01", None),
        # a value that does not parse authorizes nobody (RFC 8659 §4.2)
        ("ca.internal.test; accounturi", ACCOUNT, "http-01", "caa"),
        ("ca.internal.test; =x", ACCOUNT, "http-01", "caa"),
        ("ca internal test", ACCOUNT, "http-01", "caa"),
        # the same parameter twice is ambiguous: no authorization
        (f"ca.internal.test; accounturi={ACCOUNT}; accounturi={ACCOUNT}", ACCOUNT, "http-01",
         "caa"),
    ],
)
def test_rfc8657_parameters(make_settings, zone, value, account, method, problem) -> None:
    _records(zone, [("host.example.test", 0, "issue", value)])
    found = caa_problem(make_settings(), dns_id("host.example.test"), account=account,
                        method=method)
    assert (found.code if found else None) == problem


def test_another_record_may_authorize_when_one_does_not_match(make_settings, zone) -> None:
    _records(zone, [
        ("host.example.test", 0, "issue", "ca.internal.test; validationmethods=dns-01"),
        ("host.example.test", 0, "issue", "ca.internal.test; validationmethods=http-01"),
    ])
    assert caa_problem(make_settings(), dns_id("host.example.test"), method="http-01") is None


@pytest.mark.parametrize("address", ["10.0.0.1", "fd00::1"])
def test_caa_not_applied_to_ip(make_settings, zone, address: str) -> None:
    assert caa_problem(make_settings(), ip_id(address)) is None


@pytest.mark.parametrize("kind", ["servfail", "silent"])
def test_caa_lookup_failure_forbids(make_settings, zone, kind: str) -> None:
    getattr(zone, kind).add("example.test.")
    settings = make_settings(dns01={"timeout_seconds": 0.6})
    problem = caa_problem(settings, dns_id("host.example.test"))
    assert problem is not None and (problem.code, problem.status) == ("caa", 403)
    assert "CAA lookup for host.example.test failed" in problem.detail
    assert problem.identifier == {"type": "dns", "value": "host.example.test"}
