"""ca.profiles: the built-in profiles, a map of named entries, and the checks on names and the
default profile (each refusal names its key path)."""

from __future__ import annotations

from typing import Any

import pytest

from acmeeh.config import ConfigError, settings_from_dict

BASE: dict[str, Any] = {"server": {"external_url": "https://acme.example.com"}}


def with_ca(**ca: Any) -> dict[str, Any]:
    return {**BASE, "ca": ca}


def test_the_built_in_profiles() -> None:
    ca = settings_from_dict(BASE, environ={}).ca
    assert ca.default_profile == "tlsserver"
    shapes = {p.name: (p.extended_key_usage, p.validity_days) for p in ca.profiles}
    assert shapes == {
        "tlsserver": (("server_auth",), None),
        "tlsclient": (("client_auth",), None),
        "shortlived": (("server_auth",), 7),
    }
    assert all(p.description for p in ca.profiles)


def test_an_entry_gets_the_schema_defaults_and_its_key_as_name() -> None:
    ca = settings_from_dict(with_ca(profiles={"iot": {"max_names": 2}}, default_profile="iot"),
                            environ={}).ca
    (iot,) = ca.profiles
    assert (iot.name, iot.max_names, iot.common_name, iot.ip_addresses) == ("iot", 2, True, True)
    assert iot.key_usage == ("digital_signature", "key_encipherment")
    assert iot.key_types == ("RSA", "P-256", "P-384", "P-521", "Ed25519")


@pytest.mark.parametrize(
    ("ca", "expected"),
    [
        ({"default_profile": "gold"},
         "ca.default_profile: 'gold' is not a profile of ca.profiles (tlsserver, tlsclient, shortlived)"),
        ({"profiles": {}}, "ca.profiles: must hold at least one profile"),
        ({"profiles": {"bad name": {}, "tlsserver": {}}},
         "ca.profiles.bad name: is not a profile name (1-64 of A-Z a-z 0-9 . _ -)"),
        ({"profiles": {"tlsserver": {"extended_key_usage": ["any"]}}},
         "ca.profiles.tlsserver.extended_key_usage[0]"),
        ({"profiles": {"tlsserver": {"key_usage": ["key_cert_sign"]}}},
         "ca.profiles.tlsserver.key_usage[0]"),
        ({"profiles": {"tlsserver": {"validity_days": 0}}}, "ca.profiles.tlsserver.validity_days"),
        ({"profiles": {"tlsserver": {"max_names": 0}}}, "ca.profiles.tlsserver.max_names"),
        ({"profiles": {"tlsserver": {"colour": "red"}}}, "ca.profiles.tlsserver"),
        ({"profiles": {"tlsserver": {"key_types": []}}}, "ca.profiles.tlsserver.key_types"),
    ],
    ids=["unknown-default", "empty", "bad-name", "bad-eku", "ca-usage", "zero-days",
         "zero-names", "unknown-key", "no-key-types"],
)
def test_bad_profiles_are_refused_by_key_path(ca: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_dict(with_ca(**ca), environ={})
    assert any(e.startswith(expected) for e in info.value.errors), info.value.errors
