"""Resolver: nameserver parsing, RFC 6761 localhost, lookups against a dnslib server."""

from __future__ import annotations

import ipaddress
import socket
import time

import pytest
from dnslib import AAAA, QTYPE, TXT, A

from acmeeh.validation.resolver import LookupFailed, Resolver, parse_nameserver

from .servers import WAIT


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        (" 10.0.0.1:53 ", ("10.0.0.1", 53)),
        ("[::1]:5353", ("::1", 5353)),
        ("[::1]", ("::1", 53)),
        ("::1", ("::1", 53)),
        ("fd00::53", ("fd00::53", 53)),
    ],
)
def test_parse_nameserver(spec: str, expected: tuple[str, int]) -> None:
    assert parse_nameserver(spec) == expected


def test_parse_nameserver_resolves_a_name_once() -> None:
    ip, port = parse_nameserver("localhost:5300")
    assert ipaddress.ip_address(ip).is_loopback and port == 5300


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "1.2.3.4:0",
        "1.2.3.4:x",
        "1.2.3.4:70000",
        "[::1",
        "[::1]x",
        ":53",
    ],
)
def test_parse_nameserver_bad(spec: str) -> None:
    with pytest.raises(ValueError, match="bad resolver"):
        parse_nameserver(spec)


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("name", ["localhost", "LOCALHOST.", "web.localhost", "a.b.localhost"])
def test_localhost_never_queries(name: str) -> None:
    # RFC 6761 §6.3: answered locally, so a dead nameserver does not matter.
    resolver = Resolver((f"127.0.0.1:{_closed_port()}",), timeout=0.5)
    assert {str(a) for a in resolver.addresses(name)} == {"127.0.0.1", "::1"}
    assert resolver.txt(name) == [] and resolver.caa(name) == []


def test_addresses_a_and_aaaa(make_settings, zone, dns_responder) -> None:
    zone.add("dual.test", "A", A("10.0.0.7"))
    zone.add("dual.test", "AAAA", AAAA("fd00::7"))
    zone.add("v4.test", "A", A("10.0.0.8"))
    resolver = Resolver((f"127.0.0.1:{dns_responder.port}",), timeout=2)
    assert [str(a) for a in resolver.addresses("dual.test")] == ["fd00::7", "10.0.0.7"]
    assert [str(a) for a in resolver.addresses("v4.test")] == ["10.0.0.8"]
    assert resolver.addresses("missing.test") == []


def test_truncated_udp_answer_retried_over_tcp(zone, dns_responder) -> None:
    values = [f"value-{i:02d}-" + "x" * 60 for i in range(20)]
    for v in values:
        zone.add("big.test", "TXT", TXT(v))
    resolver = Resolver((f"127.0.0.1:{dns_responder.port}",), timeout=2)
    assert sorted(resolver.txt("big.test")) == values


@pytest.mark.parametrize(
    ("kind", "message"), [("servfail", "server failure"), ("silent", "timeout")]
)
def test_lookup_failures(zone, dns_responder, kind: str, message: str) -> None:
    getattr(zone, kind).add("broken.test.")
    resolver = Resolver((f"127.0.0.1:{dns_responder.port}",), timeout=0.6)
    start = time.monotonic()
    with pytest.raises(LookupFailed, match=message):
        resolver.txt("broken.test")
    with pytest.raises(LookupFailed, match=message):
        resolver.addresses("broken.test")
    assert time.monotonic() - start < 2.5


def test_deadline_in_the_past_fails_fast(dns_responder) -> None:
    resolver = Resolver((f"127.0.0.1:{dns_responder.port}",), timeout=2)
    with pytest.raises(LookupFailed, match="timeout"):
        resolver.txt("any.test", deadline=time.monotonic() - 1)


def test_silent_aaaa_leaves_time_for_a(dns_responder) -> None:
    # a broken but real-world server: drops AAAA questions, answers A
    zone = dns_responder.zone
    zone.clear()
    zone.add("v4only.test", "A", A("10.0.0.9"))
    original = zone.resolve

    def resolve(request, handler):
        if QTYPE[request.q.qtype] == "AAAA":
            zone.stop.wait(WAIT)
        return original(request, handler)

    zone.resolve = resolve  # type: ignore[method-assign]
    try:
        resolver = Resolver((f"127.0.0.1:{dns_responder.port}",), timeout=1)
        assert [str(a) for a in resolver.addresses("v4only.test")] == ["10.0.0.9"]
    finally:
        del zone.resolve
