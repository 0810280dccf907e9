"""tls-alpn-01 (RFC 8737, RFC 8738 §6) against a real ssl server on loopback."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from acmeeh.protocol.problems import Problem
from acmeeh.validation import NetworkValidator
from acmeeh.validation.tlsalpn01 import check_certificate, expected_extension_value, server_name

from .conftest import KEY_AUTHZ, TOKEN, dns_id, ip_id
from .servers import dns_san, ip_san, make_cert

GOOD = b"\x04\x20" + hashlib.sha256(KEY_AUTHZ.encode()).digest()
OTHER = b"\x04\x20" + hashlib.sha256(b"someone-else.key").digest()
ALPN = ["acme-tls/1"]


def test_expected_extension_value() -> None:
    assert expected_extension_value(KEY_AUTHZ) == GOOD


@pytest.mark.parametrize(
    ("identifier", "sni"),
    [
        (dns_id("tls.test"), "tls.test"),
        (ip_id("127.0.0.1"), "1.0.0.127.in-addr.arpa"),
        (ip_id("10.20.30.40"), "40.30.20.10.in-addr.arpa"),
        (ip_id("::1"), "1." + "0." * 31 + "ip6.arpa"),
    ],
)
def test_server_name(identifier, sni: str) -> None:
    assert server_name(identifier) == sni


CASES = {
    # case: (sans, extension value, critical, alpn, identifier)
    "good dns": ([dns_san("tls.localhost")], GOOD, True, ALPN, dns_id("tls.localhost")),
    "good dns upper-case SAN": (
        [dns_san("TLS.localhost")],
        GOOD,
        True,
        ALPN,
        dns_id("tls.localhost"),
    ),
    "good ip": ([ip_san("127.0.0.1")], GOOD, True, ALPN, ip_id("127.0.0.1")),
    "no extension": ([dns_san("tls.localhost")], None, True, ALPN, dns_id("tls.localhost")),
    "non-critical": ([dns_san("tls.localhost")], GOOD, False, ALPN, dns_id("tls.localhost")),
    "wrong hash": ([dns_san("tls.localhost")], OTHER, True, ALPN, dns_id("tls.localhost")),
    "not an octet string": (
        [dns_san("tls.localhost")],
        b"\x0c\x03abc",
        True,
        ALPN,
        dns_id("tls.localhost"),
    ),
    "wrong SAN": ([dns_san("other.localhost")], GOOD, True, ALPN, dns_id("tls.localhost")),
    "two SANs": (
        [dns_san("tls.localhost"), dns_san("x.localhost")],
        GOOD,
        True,
        ALPN,
        dns_id("tls.localhost"),
    ),
    "no SAN": ([], GOOD, True, ALPN, dns_id("tls.localhost")),
    "ip as dNSName": ([dns_san("127.0.0.1")], GOOD, True, ALPN, ip_id("127.0.0.1")),
    "no ALPN": ([dns_san("tls.localhost")], GOOD, True, None, dns_id("tls.localhost")),
    "other ALPN": ([dns_san("tls.localhost")], GOOD, True, ["http/1.1"], dns_id("tls.localhost")),
}


@pytest.mark.parametrize(
    ("case", "problem", "detail"),
    [
        ("good dns", None, None),
        ("good dns upper-case SAN", None, None),
        ("good ip", None, None),
        ("no extension", "unauthorized", "no acmeIdentifier extension"),
        ("non-critical", "unauthorized", "not critical"),
        ("wrong hash", "incorrectResponse", OTHER[2:].hex()),
        ("not an octet string", "unauthorized", "not an OCTET STRING"),
        ("wrong SAN", "unauthorized", "DNSName(other.localhost)"),
        ("two SANs", "unauthorized", "must name only tls.localhost"),
        ("no SAN", "unauthorized", "no subjectAltName"),
        ("ip as dNSName", "unauthorized", "must name only 127.0.0.1"),
        ("no ALPN", "tls", "did not negotiate the acme-tls/1 protocol"),
        ("other ALPN", "tls", "acme-tls/1"),
    ],
)
def test_tlsalpn01(make_settings, tls, tmp_path_factory, case, problem, detail) -> None:
    sans, value, critical, alpn, identifier = CASES[case]
    directory = tmp_path_factory.mktemp("certs")
    tls.scenario = {"cert": make_cert(directory, "c", sans, value, critical), "alpn": alpn}
    result = NetworkValidator(make_settings()).validate("tls-alpn-01", identifier, TOKEN, KEY_AUTHZ)
    record = result.records[0]
    assert record["port"] == tls.port and record["addressUsed"] == "127.0.0.1"
    assert record["serverName"] == server_name(identifier)
    assert tls.server_names == [server_name(identifier)]  # SNI as RFC 8737 §3 / 8738 §6 say
    if problem is None:
        assert result.ok, result.problem
    else:
        assert not result.ok
        assert result.problem.code == problem
        assert detail in result.problem.detail


def test_not_a_tls_server(make_settings, tls) -> None:
    tls.scenario = {"plain": True}
    result = NetworkValidator(make_settings()).validate(
        "tls-alpn-01", ip_id("127.0.0.1"), TOKEN, KEY_AUTHZ
    )
    assert result.problem.code == "tls" and "handshake" in result.problem.detail


def test_connection_refused(make_settings) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = make_settings(tlsalpn01={"port": port})
    result = NetworkValidator(settings).validate("tls-alpn-01", ip_id("127.0.0.1"), TOKEN, KEY_AUTHZ)
    assert result.problem.code == "connection" and "refused" in result.problem.detail
    assert result.transient


def test_silent_server_times_out(make_settings) -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts (backlog) but never speaks
    try:
        settings = make_settings(
            tlsalpn01={"port": listener.getsockname()[1], "timeout_seconds": 0.5}
        )
        result = NetworkValidator(settings).validate("tls-alpn-01", ip_id("127.0.0.1"), TOKEN, KEY_AUTHZ)
    finally:
        listener.close()
    assert result.problem.code == "connection" and "timeout" in result.problem.detail
    assert result.transient


@pytest.mark.parametrize("der", [b"", b"\x30\x03\x02\x01\x01", b"not a certificate"])
def test_unparsable_certificate(der: bytes) -> None:
    with pytest.raises(Problem) as caught:
        check_certificate(der, dns_id("tls.test"), KEY_AUTHZ)
    assert caught.value.code == "unauthorized"


def test_check_certificate_accepts_ip_san(tmp_path) -> None:
    cert_path, _ = make_cert(tmp_path, "ip", [ip_san("fd00::1")], GOOD)
    pem = Path(cert_path).read_bytes()
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    check_certificate(der, ip_id("fd00::1"), KEY_AUTHZ)
