"""Address policy: loopback and friends refused by default, private ranges allowed."""

from __future__ import annotations

import ipaddress

import pytest

from acmeeh.validation import NetworkValidator
from acmeeh.validation.network import AddressPolicy, own_addresses

from .conftest import KEY_AUTHZ, TOKEN, dns_id, ip_id

NOBODY = frozenset()


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast or broadcast"),
        ("ff02::1", "multicast or broadcast"),
        ("255.255.255.255", "multicast or broadcast"),
    ],
)
def test_default_policy_refuses(address: str, reason: str) -> None:
    assert AddressPolicy((), own=NOBODY).refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "address",
    ["10.1.2.3", "172.16.0.5", "192.168.1.1", "100.64.0.1", "fd00::5", "8.8.8.8", "2001:db8::1"],
)
def test_default_policy_allows_private_and_public(address: str) -> None:
    assert AddressPolicy((), own=NOBODY).allows(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("networks", "address"),
    [
        (("127.0.0.0/8",), "127.0.0.1"),
        (("::1/128",), "::1"),
        (("127.0.0.1/32",), "::ffff:127.0.0.1"),
        (("169.254.0.0/16",), "169.254.1.1"),
        (("10.9.9.9/32",), "10.9.9.9"),  # own address, allowed explicitly
    ],
)
def test_allowed_networks_override(networks: tuple[str, ...], address: str) -> None:
    own = frozenset({ipaddress.ip_address("10.9.9.9")})
    assert AddressPolicy(networks, own=own).allows(ipaddress.ip_address(address))


def test_own_addresses_refused() -> None:
    own = frozenset({ipaddress.ip_address("10.9.9.9")})
    policy = AddressPolicy((), own=own)
    assert policy.refusal(ipaddress.ip_address("10.9.9.9")) == "an address of this server"
    assert policy.allows(ipaddress.ip_address("10.9.9.10"))


def test_own_addresses_are_addresses() -> None:
    found = own_addresses()
    assert all(isinstance(a, (ipaddress.IPv4Address, ipaddress.IPv6Address)) for a in found)


@pytest.mark.parametrize("cidr", ["nonsense", "10.0.0.0/33", "300.1.1.1/8", ""])
def test_bad_allowed_network_is_refused_at_start(cidr: str) -> None:
    with pytest.raises(ValueError, match="allowed_networks"):
        AddressPolicy((cidr,))


@pytest.mark.parametrize(
    ("challenge", "identifier"),
    [
        ("http-01", ip_id("127.0.0.1")),
        ("http-01", dns_id("web.localhost")),
        ("tls-alpn-01", ip_id("127.0.0.1")),
        ("tls-alpn-01", ip_id("::1")),
    ],
)
def test_default_validator_refuses_loopback_before_connecting(
    make_settings, web, tls, challenge, identifier
) -> None:
    web.routes[f"/.well-known/acme-challenge/{TOKEN}"] = {"body": KEY_AUTHZ.encode()}
    result = NetworkValidator(make_settings(allowed_networks=())).validate(
        challenge, identifier, TOKEN, KEY_AUTHZ
    )
    assert not result.ok
    assert result.problem.code == "connection"
    assert "not allowed for validation" in result.problem.detail
    assert web.requests == [] and tls.server_names == []  # nothing was contacted
    assert "addressUsed" not in result.records[0]
