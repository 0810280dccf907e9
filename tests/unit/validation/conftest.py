"""Fixtures: loopback HTTP, DNS and TLS responders and settings shaped like settings.challenges."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from acmeeh.protocol.identifiers import Identifier
from acmeeh.protocol.status import IdentifierType

from .servers import DNSResponder, HTTPResponder, TLSResponder

LOOPBACK = ("127.0.0.0/8", "::1/128")
TOKEN = "tok-EN_123"
KEY_AUTHZ = f"{TOKEN}.thumbprint-AbC_123"


def dns_id(value: str) -> Identifier:
    return Identifier(IdentifierType.DNS, value)


def ip_id(value: str) -> Identifier:
    return Identifier(IdentifierType.IP, value)


@pytest.fixture(scope="session")
def http_responder() -> Iterator[HTTPResponder]:
    server = HTTPResponder()
    yield server
    server.close()


@pytest.fixture(scope="session")
def dns_responder() -> Iterator[DNSResponder]:
    server = DNSResponder()
    yield server
    server.close()


@pytest.fixture(scope="session")
def tls_responder() -> Iterator[TLSResponder]:
    server = TLSResponder()
    yield server
    server.close()


@pytest.fixture
def web(http_responder: HTTPResponder) -> HTTPResponder:
    http_responder.routes.clear()
    http_responder.requests.clear()
    return http_responder


@pytest.fixture
def zone(dns_responder: DNSResponder):
    dns_responder.zone.clear()
    return dns_responder.zone


@pytest.fixture
def tls(tls_responder: TLSResponder) -> TLSResponder:
    tls_responder.scenario = {}
    tls_responder.server_names.clear()
    return tls_responder


@pytest.fixture
def make_settings(
    http_responder: HTTPResponder, dns_responder: DNSResponder, tls_responder: TLSResponder
):
    """settings.challenges look-alike pointing at the loopback responders."""

    def build(**overrides: object) -> SimpleNamespace:
        http01 = {
            "port": http_responder.port,
            "timeout_seconds": 2,
            "max_redirects": 3,
            "max_body_bytes": 256,
        }
        dns01 = {"resolvers": (f"127.0.0.1:{dns_responder.port}",), "timeout_seconds": 2}
        tlsalpn01 = {"port": tls_responder.port, "timeout_seconds": 2}
        http01.update(overrides.pop("http01", {}))  # type: ignore[arg-type]
        dns01.update(overrides.pop("dns01", {}))  # type: ignore[arg-type]
        tlsalpn01.update(overrides.pop("tlsalpn01", {}))  # type: ignore[arg-type]
        values: dict[str, object] = {
            "enabled": ("http-01", "dns-01", "tls-alpn-01"),
            "allowed_networks": LOOPBACK,
            "max_attempts": 1,
            "validation_threads": 2,
            "http01": SimpleNamespace(**http01),
            "dns01": SimpleNamespace(**dns01),
            "tlsalpn01": SimpleNamespace(**tlsalpn01),
        }
        values.update(overrides)
        return SimpleNamespace(**values)

    return build
