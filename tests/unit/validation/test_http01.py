"""http-01 (RFC 8555 §8.3) against a real threaded HTTP server on loopback."""

from __future__ import annotations

import socket
import ssl
import time
from types import SimpleNamespace

import pytest
from dnslib import A

from acmeeh.protocol.problems import Problem
from acmeeh.validation import NetworkValidator, http01
from acmeeh.validation.network import AddressPolicy
from acmeeh.validation.resolver import Resolver

from .conftest import KEY_AUTHZ, LOOPBACK, TOKEN, dns_id, ip_id
from .servers import HTTPResponder, dns_san, make_cert

PATH = f"/.well-known/acme-challenge/{TOKEN}"
GOOD = KEY_AUTHZ.encode()


def _routes(case: str, port: int) -> dict[str, dict]:
    here = f"http://web.test:{port}"
    table: dict[str, dict] = {
        "good": {PATH: {"body": GOOD}},
        "trailing whitespace": {PATH: {"body": GOOD + b"\r\n \t\n"}},
        "chunked": {PATH: {"body": GOOD, "chunked": True}},
        "wrong body": {PATH: {"body": b"wrong-key-authz\x00\x01"}},
        "leading whitespace": {PATH: {"body": b" " + GOOD}},
        "404": {},
        "500": {PATH: {"status": 500, "body": GOOD}},
        "too big": {PATH: {"body": GOOD + b" " * 300}},
        "redirect relative": {
            PATH: {"status": 302, "headers": {"Location": "/moved"}},
            "/moved": {"body": GOOD},
        },
        "redirect absolute": {
            PATH: {"status": 301, "headers": {"Location": f"{here}/a"}},
            "/a": {"status": 307, "headers": {"Location": f"{here}/b?x=1"}},
            "/b?x=1": {"body": GOOD},
        },
        "redirect loop": {PATH: {"status": 302, "headers": {"Location": PATH}}},
        "redirect bad port": {
            PATH: {"status": 302, "headers": {"Location": "http://web.test:8081/x"}}
        },
        "redirect https bad port": {
            PATH: {"status": 302, "headers": {"Location": f"https://web.test:{port}/x"}}
        },
        "redirect ftp": {PATH: {"status": 302, "headers": {"Location": "ftp://web.test/x"}}},
        "redirect nxdomain": {
            PATH: {"status": 302, "headers": {"Location": f"http://nx.test:{port}/x"}}
        },
        "redirect to refused address": {
            PATH: {"status": 302, "headers": {"Location": f"http://linklocal.test:{port}/x"}}
        },
        "redirect without location": {PATH: {"status": 302}},
        "slow": {PATH: {"body": GOOD, "delay": 2.0}},
        "not http": {PATH: {"raw": b"SSH-2.0-OpenSSH\r\n\r\n"}},
        # each byte arrives well within a per-read timeout, the whole far past the deadline
        "drip": {PATH: {"drip": ([b"HTTP/1.1 200 OK\r\n"] + [b"X: y\r\n"] * 20, 0.15)}},
    }
    return table[case]


@pytest.mark.parametrize(
    ("case", "problem", "detail", "hops"),
    [
        ("good", None, None, 1),
        ("trailing whitespace", None, None, 1),
        ("chunked", None, None, 1),
        ("redirect relative", None, None, 2),
        ("redirect absolute", None, None, 3),
        ("wrong body", "incorrectResponse", "got 'wrong-key-authz??'", 1),
        ("leading whitespace", "incorrectResponse", "is wrong", 1),
        ("404", "incorrectResponse", "returned HTTP status 404", 1),
        ("500", "incorrectResponse", "returned HTTP status 500", 1),
        ("too big", "incorrectResponse", "larger than 256 bytes", 1),
        ("redirect loop", "connection", "too many redirects (more than 3)", 4),
        ("redirect bad port", "connection", "redirect to port 8081 is not allowed", 1),
        ("redirect https bad port", "connection", "is not allowed", 1),
        ("redirect ftp", "connection", "unsupported scheme", 1),
        ("redirect nxdomain", "dns", "no A or AAAA records found for nx.test", 2),
        (
            "redirect to refused address",
            "connection",
            "169.254.1.1 of linklocal.test is not allowed",
            2,
        ),
        ("redirect without location", "incorrectResponse", "without a Location", 1),
        ("slow", "connection", "timeout", 1),
        ("not http", "connection", "invalid HTTP response", 1),
        ("drip", "connection", "timeout", 1),
    ],
)
def test_http01(make_settings, web, zone, case, problem, detail, hops) -> None:
    zone.add("web.test", "A", A("127.0.0.1"))
    zone.add("linklocal.test", "A", A("169.254.1.1"))
    web.routes.update(_routes(case, web.port))
    validator = NetworkValidator(make_settings(http01={"timeout_seconds": 1}))
    start = time.monotonic()
    result = validator.validate("http-01", dns_id("web.test"), TOKEN, KEY_AUTHZ)
    assert time.monotonic() - start < 2.0  # one total deadline for all hops
    assert len(result.records) == hops
    first = result.records[0]
    assert first["url"] == f"http://web.test:{web.port}{PATH}"
    assert first["hostname"] == "web.test" and first["port"] == web.port
    assert first["addressesResolved"] == ["127.0.0.1"]
    assert first["addressUsed"] == "127.0.0.1"
    if problem is None:
        assert result.ok and result.problem is None, result.problem
    else:
        assert not result.ok
        assert result.problem.code == problem
        assert detail in result.problem.detail
        assert "Traceback" not in result.problem.detail and len(result.problem.detail) < 300
    # RFC 8555 §8.2: only a timeout (or a refusal, below) is worth another attempt
    assert result.transient == (detail == "timeout")


def test_host_header_and_request_path(make_settings, web, zone) -> None:
    zone.add("web.test", "A", A("127.0.0.1"))
    web.routes[PATH] = {"body": GOOD}
    NetworkValidator(make_settings()).validate("http-01", dns_id("web.test"), TOKEN, KEY_AUTHZ)
    assert web.requests == [(PATH, f"web.test:{web.port}")]


def _v6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.parametrize(
    ("identifier", "host"),
    [
        (ip_id("127.0.0.1"), "127.0.0.1"),
        pytest.param(
            ip_id("::1"),
            "[::1]",
            marks=pytest.mark.skipif(not _v6_available(), reason="no IPv6 loopback"),
        ),
        (dns_id("web.localhost"), "web.localhost"),  # RFC 6761: no DNS query at all
    ],
)
def test_http01_ip_and_localhost(make_settings, web, zone, identifier, host) -> None:
    web.routes[PATH] = {"body": GOOD}
    result = NetworkValidator(make_settings()).validate("http-01", identifier, TOKEN, KEY_AUTHZ)
    assert result.ok, result.problem
    assert result.records[0]["url"] == f"http://{host}:{web.port}{PATH}"
    assert web.requests[-1] == (PATH, f"{host}:{web.port}")
    assert zone.queries == []


def test_connection_refused(make_settings, web, zone) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = make_settings(http01={"port": port})
    result = NetworkValidator(settings).validate("http-01", ip_id("127.0.0.1"), TOKEN, KEY_AUTHZ)
    assert result.problem.code == "connection"
    assert "connection refused" in result.problem.detail
    assert "addressUsed" not in result.records[0]
    assert result.transient  # RFC 8555 §8.2: the responder may not be up yet


@pytest.mark.parametrize("token", ["../../etc/passwd", "a b", "tok?x=1", "", "x" * 300])
def test_bad_token_is_malformed(make_settings, web, token: str) -> None:
    result = NetworkValidator(make_settings()).validate("http-01", ip_id("127.0.0.1"), token, KEY_AUTHZ)
    assert result.problem.code == "malformed" and web.requests == []


def test_https_target_fetched_without_verification(tmp_path) -> None:
    """An https hop with a self-signed certificate is fetched (RFC 8555 §8.3). fetch() is
    called directly: the redirect policy only reaches https on 443, which tests cannot bind."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*make_cert(tmp_path, "https", [dns_san("secure.localhost")]))
    server = HTTPResponder(context=context, ipv6=False)
    server.routes["/secure"] = {"body": b"secret-body"}
    settings = SimpleNamespace(port=80, timeout_seconds=2, max_redirects=0, max_body_bytes=256)
    records: list[dict] = []
    try:
        status, body = http01.fetch(
            f"https://secure.localhost:{server.port}/secure",
            resolver=Resolver((), timeout=1),
            policy=AddressPolicy(LOOPBACK),
            settings=settings,
            records=records,
        )
    finally:
        server.close()
    assert (status, body) == (200, b"secret-body")
    # ::1 is tried first (nothing listens there), then 127.0.0.1
    assert records[0]["addressesResolved"] == ["::1", "127.0.0.1"]
    assert records[0]["addressUsed"] == "127.0.0.1"
    assert server.requests == [("/secure", f"secure.localhost:{server.port}")]


def test_plain_http_to_https_port_is_a_tls_problem(tmp_path, web) -> None:
    web.routes["/x"] = {"body": b"hello"}
    settings = SimpleNamespace(port=80, timeout_seconds=2, max_redirects=0, max_body_bytes=256)
    with pytest.raises(Problem) as caught:
        http01.fetch(
            f"https://127.0.0.1:{web.port}/x",
            resolver=Resolver((), timeout=1),
            policy=AddressPolicy(LOOPBACK),
            settings=settings,
            records=[],
        )
    assert caught.value.code == "tls"
