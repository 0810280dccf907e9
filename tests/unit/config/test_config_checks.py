"""Cross-field checks: what the JSON Schema cannot say, each reported as "key.path: message"."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from acmeeh.config import ConfigError, settings_from_dict

BASE = {"server": {"external_url": "https://acme.example.com"}}


def config(**sections: Any) -> dict[str, Any]:
    out = copy.deepcopy(BASE)
    for name, value in sections.items():
        if isinstance(value, dict) and isinstance(out.get(name), dict):
            out[name].update(value)
        else:
            out[name] = value
    return out


def errors_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        settings_from_dict(data, environ={})
    return info.value.errors


BAD = [
    (
        "ca key without cert",
        config(ca={"key": "/k.pem"}),
        ["ca.key: is set but ca.certificate is not"],
    ),
    (
        "ca cert without key",
        config(ca={"certificate": "/c.pem"}),
        ["ca.certificate: is set but ca.key is not"],
    ),
    (
        "pkcs11 with nothing to find the key by",
        config(ca={"backend": "pkcs11"}),
        ["ca.pkcs11.key_label: or ca.pkcs11.key_id is required with ca.backend pkcs11",
         "ca.pkcs11.module: is required with ca.backend pkcs11",
         "ca.pkcs11.token_label: or ca.pkcs11.slot is required with ca.backend pkcs11"],
    ),
    (
        "pkcs11 with a key file",
        config(ca={"backend": "pkcs11", "key": "/k.pem", "pkcs11": {
            "module": "/usr/lib/softhsm/libsofthsm2.so", "slot": 0, "key_id": "01"}}),
        ["ca.key: must be empty with ca.backend pkcs11 (the key is in the token)"],
    ),
    (
        "pkcs11 key id not hex",
        config(ca={"backend": "pkcs11", "pkcs11": {
            "module": "/m.so", "token_label": "t", "key_id": "xyz"}}),
        ["ca.pkcs11.key_id: 'xyz' does not match '^([0-9a-fA-F]{2})+$'"],
    ),
    (
        "acme_upstream without its upstream, with a key and with revocation status",
        config(ca={"backend": "acme_upstream", "key": "/k.pem",
                   "acme_upstream": {"eab_kid": "kid"}}),
        ["ca.acme_upstream.account_key: is required with ca.backend acme_upstream",
         "ca.acme_upstream.directory_url: is required with ca.backend acme_upstream",
         "ca.acme_upstream.eab_kid: and ca.acme_upstream.eab_hmac_key go together",
         "ca.certificate: is required with ca.backend acme_upstream",
         "ca.key: must be empty with ca.backend acme_upstream (the upstream CA signs)",
         "crl.enabled: must be false with ca.backend acme_upstream (the upstream CA publishes "
         "the status of what it issues)",
         "ocsp.enabled: must be false with ca.backend acme_upstream (the upstream CA publishes "
         "the status of what it issues)"],
    ),
    (
        "backend name not a name",
        config(ca={"backend": "My Backend"}),
        ["ca.backend: 'My Backend' does not match '^[a-z][a-z0-9_]{0,63}$'"],
    ),
    (
        "http01 port 0",
        config(challenges={"http01": {"port": 0}}),
        ["challenges.http01.port: 0 is outside 1-65535"],
    ),
    (
        "http01 port 65536",
        config(challenges={"http01": {"port": 65536}}),
        ["challenges.http01.port: 65536 is outside 1-65535"],
    ),
    (
        "tlsalpn01 port -1",
        config(challenges={"tlsalpn01": {"port": -1}}),
        ["challenges.tlsalpn01.port: -1 is outside 1-65535"],
    ),
    (
        "url relative",
        {"server": {"external_url": "acme.example.com"}},
        [
            "server.external_url: 'acme.example.com' must be an absolute http:// or https:// URL with a host"
        ],
    ),
    (
        "url ftp",
        {"server": {"external_url": "ftp://acme.example.com"}},
        [
            "server.external_url: 'ftp://acme.example.com' must be an absolute http:// or https:// URL with a host"
        ],
    ),
    (
        "url no host",
        {"server": {"external_url": "https:///acme"}},
        [
            "server.external_url: 'https:///acme' must be an absolute http:// or https:// URL with a host"
        ],
    ),
    (
        "url query",
        {"server": {"external_url": "https://a.example/?x=1"}},
        ["server.external_url: 'https://a.example/?x=1' must not have a query or fragment"],
    ),
    (
        "url fragment",
        {"server": {"external_url": "https://a.example/#top"}},
        ["server.external_url: 'https://a.example/#top' must not have a query or fragment"],
    ),
    (
        "url empty query",
        {"server": {"external_url": "https://a.example/?"}},
        ["server.external_url: 'https://a.example/?' must not have a query or fragment"],
    ),
    (
        "url userinfo",
        {"server": {"external_url": "https://u:p@a.example"}},
        ["server.external_url: 'https://u:p@a.example' must not contain user info"],
    ),
    (
        "url bad port",
        {"server": {"external_url": "https://a.example:99999"}},
        [
            "server.external_url: 'https://a.example:99999' is not a valid URL (Port out of range 0-65535)"
        ],
    ),
    (
        "url empty",
        {"server": {"external_url": ""}},
        ["server.external_url: '' should be non-empty"],
    ),
    (
        "resolver garbage",
        config(challenges={"dns01": {"resolvers": ["not a host"]}}),
        ["challenges.dns01.resolvers[0]: 'not a host' is not host[:port] or [ipv6]:port"],
    ),
    (
        "resolver bad port",
        config(challenges={"dns01": {"resolvers": ["127.0.0.1:0"]}}),
        ["challenges.dns01.resolvers[0]: '127.0.0.1:0': port 0 is outside 1-65535"],
    ),
    (
        "resolver port text",
        config(challenges={"dns01": {"resolvers": ["127.0.0.1:dns"]}}),
        ["challenges.dns01.resolvers[0]: '127.0.0.1:dns' is not host[:port] or [ipv6]:port"],
    ),
    (
        "resolver v6 unbracketed with port",
        config(challenges={"dns01": {"resolvers": ["8.8.8.8", "::1:53:x"]}}),
        ["challenges.dns01.resolvers[1]: '::1:53:x' is not host[:port] or [ipv6]:port"],
    ),
    (
        "resolver bracketed v4",
        config(challenges={"dns01": {"resolvers": ["[127.0.0.1]:53"]}}),
        ["challenges.dns01.resolvers[0]: '[127.0.0.1]:53' is not host[:port] or [ipv6]:port"],
    ),
    (
        "resolver empty",
        config(challenges={"dns01": {"resolvers": [""]}}),
        ["challenges.dns01.resolvers[0]: '' is not host[:port] or [ipv6]:port"],
    ),
    (
        "challenge cidr garbage",
        config(challenges={"allowed_networks": ["10.0.0.0/8", "ten"]}),
        [
            "challenges.allowed_networks[1]: 'ten' is not a valid CIDR network ('ten' does not appear to be an IPv4 or IPv6 network)"
        ],
    ),
    (
        "challenge cidr host bits",
        config(challenges={"allowed_networks": ["10.0.0.1/8"]}),
        [
            "challenges.allowed_networks[0]: '10.0.0.1/8' is not a valid CIDR network (10.0.0.1/8 has host bits set)"
        ],
    ),
    (
        "identifier cidr prefix",
        config(security={"identifiers": {"allowed_networks": ["192.0.2.0/33"]}}),
        [
            "security.identifiers.allowed_networks[0]: '192.0.2.0/33' is not a valid CIDR network ('192.0.2.0/33' does not appear to be an IPv4 or IPv6 network)"
        ],
    ),
    (
        "rsa size below 2048",
        config(security={"rsa_key_sizes": [1024, 2048]}),
        ["security.rsa_key_sizes[0]: 1024 is less than the minimum of 2048"],
    ),
    (
        "unknown leaf key type",
        config(security={"leaf_key_types": ["RSA", "secp256k1"]}),
        ["security.leaf_key_types[1]: 'secp256k1' is not one of ['RSA', 'P-256', 'P-384', 'P-521', 'Ed25519']"],
    ),
    (
        "database url scheme",
        config(database={"url": "mysql://db/acmeeh"}),
        ["database.url: must start with postgresql:// or postgres://"],
    ),
    (
        "database url dsn",
        config(database={"url": "host=db dbname=acmeeh"}),
        ["database.url: must start with postgresql:// or postgres://"],
    ),
]


@pytest.mark.parametrize(("data", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_cross_field_errors(data: dict[str, Any], expected: list[str]) -> None:
    assert errors_of(data) == expected


GOOD = [
    ("ca pair", config(ca={"certificate": "/c.pem", "key": "/k.pem"})),
    (
        "ports at the edges",
        config(challenges={"http01": {"port": 1}, "tlsalpn01": {"port": 65535}}),
    ),
    (
        "resolvers of every shape",
        config(
            challenges={
                "dns01": {
                    "resolvers": [
                        "127.0.0.1",
                        "127.0.0.1:5353",
                        "::1",
                        "[::1]:53",
                        "[2001:db8::53]",
                        "ns1.example.com",
                        "ns1.example.com:53",
                    ]
                }
            }
        ),
    ),
    (
        "cidrs",
        config(
            challenges={"allowed_networks": ["127.0.0.0/8", "::1/128", "10.1.2.3/32"]},
            security={"identifiers": {"allowed_networks": ["192.0.2.0/24", "2001:db8::/32"]}},
        ),
    ),
    ("rsa sizes", config(security={"rsa_key_sizes": [4096], "leaf_key_types": ["Ed25519"]})),
    ("postgres url", config(database={"url": "postgres://u@db/acmeeh"})),
    ("postgresql url", config(database={"url": "postgresql://u:p@db:5432/acmeeh?sslmode=require"})),
    ("http with port and path", {"server": {"external_url": "http://127.0.0.1:8443/pki"}}),
]


@pytest.mark.parametrize("data", [g[1] for g in GOOD], ids=[g[0] for g in GOOD])
def test_cross_field_accepts(data: dict[str, Any]) -> None:
    settings_from_dict(data, environ={})


def test_schema_and_cross_field_errors_are_reported_together() -> None:
    data = config(
        server={"port": "abc"},
        ca={"key": "/k.pem"},
        security={"identifiers": {"forbidden_names": ["a..b"]}},
    )
    assert errors_of(data) == [
        "ca.key: is set but ca.certificate is not",
        "security.identifiers.forbidden_names[0]: 'a..b' has an empty label",
        "server.port: 'abc' is not of type 'integer'",
    ]


def test_cross_field_checks_tolerate_wrongly_typed_values() -> None:
    data = config(
        challenges={"dns01": {"resolvers": "8.8.8.8"}, "allowed_networks": [1]},
        security={"identifiers": {"forbidden_names": "x.test"}},
    )
    assert errors_of(data) == [
        "challenges.allowed_networks[0]: 1 is not of type 'string'",
        "challenges.dns01.resolvers: '8.8.8.8' is not of type 'array'",
        "security.identifiers.forbidden_names: 'x.test' is not of type 'array'",
    ]


# Issue 11 item 7: names are compared as lower-case A-labels without a final dot, so entries
# are rewritten to that form at load (an entry written otherwise would match nothing).
@pytest.mark.parametrize(
    ("written", "loaded"),
    [
        ("forbidden.test", "forbidden.test"),
        ("  Forbidden.TEST.  ", "forbidden.test"),
        ("Bücher.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example.", "xn--bcher-kva.example"),
        ("localhost", "localhost"),
    ],
)
def test_identifier_names_are_normalised_at_load(written: str, loaded: str) -> None:
    s = settings_from_dict(
        config(security={"identifiers": {"forbidden_names": [written], "allowed_suffixes": [written]}}),
        environ={},
    )
    assert s.security.identifiers.forbidden_names == (loaded,)
    assert s.security.identifiers.allowed_suffixes == (loaded,)


@pytest.mark.parametrize(
    ("written", "why"),
    [
        ("", "is empty"),
        ("  ", "is empty"),
        ("a..b", "empty label"),
        ("*.wild.test", "wildcard"),
        ("under_score.test", "not letters, digits"),
        ("☃.test", "not a valid internationalized name"),
        ("10.0.0.1", "all-numeric"),
        ("a" * 64 + ".test", "not letters, digits"),
    ],
)
def test_identifier_name_that_is_no_host_name_is_a_config_error(written: str, why: str) -> None:
    errors = errors_of(config(security={"identifiers": {"forbidden_names": ["ok.test", written]}}))
    assert len(errors) == 1 and errors[0].startswith("security.identifiers.forbidden_names[1]: ")
    assert why in errors[0]
