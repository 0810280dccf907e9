"""CAA (RFC 8659) tree climbing and property processing against a real dnslib server."""

from __future__ import annotations

import pytest
from dnslib import CAA, CNAME, A

from acmeeh.validation import Validator

from .conftest import dns_id, ip_id

OURS = ("ca.internal.test",)


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
            [("host.example.test", 0, "issue", " ca.internal.test ; accounturi=https://x/1")],
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
    found = Validator(make_settings()).check_caa(dns_id(identifier), OURS)
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.code == problem
        assert identifier in found.detail


def test_caa_follows_cname_at_a_level(make_settings, zone) -> None:
    zone.add("alias.example.test", "CNAME", CNAME("target.other.test"))
    zone.add("target.other.test", "A", A("10.0.0.1"))
    _records(zone, [("target.other.test", 0, "issue", "other-ca.test")])
    problem = Validator(make_settings()).check_caa(dns_id("alias.example.test"), OURS)
    assert problem is not None and problem.code == "caa"


def test_caa_climbs_every_level_then_stops(make_settings, zone) -> None:
    assert Validator(make_settings()).check_caa(dns_id("a.b.example.test"), OURS) is None
    assert [name for name, _ in zone.queries] == [
        "a.b.example.test.",
        "b.example.test.",
        "example.test.",
        "test.",
    ]


def test_caa_skipped_without_issuer_domains(make_settings, zone) -> None:
    _records(zone, [("host.example.test", 0, "issue", ";")])
    assert Validator(make_settings()).check_caa(dns_id("host.example.test"), ()) is None
    assert zone.queries == []


@pytest.mark.parametrize("address", ["10.0.0.1", "fd00::1"])
def test_caa_not_applied_to_ip(make_settings, zone, address: str) -> None:
    assert Validator(make_settings()).check_caa(ip_id(address), OURS) is None


@pytest.mark.parametrize("kind", ["servfail", "silent"])
def test_caa_lookup_failure_forbids(make_settings, zone, kind: str) -> None:
    getattr(zone, kind).add("example.test.")
    settings = make_settings(dns01={"timeout_seconds": 0.6})
    problem = Validator(settings).check_caa(dns_id("host.example.test"), OURS)
    assert problem is not None and problem.code == "dns"
    assert "CAA lookup for host.example.test failed" in problem.detail
