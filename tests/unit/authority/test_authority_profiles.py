"""authority.profiles: the leaf shape of a configured profile, and the old ca.validity_days /
ca.client_auth keys shaping it."""

from __future__ import annotations

from typing import Any

import pytest

from acmeeh.authority import profiles
from acmeeh.config import settings_from_dict
from acmeeh.issuance.backend import LeafProfile
from acmeeh.protocol.problems import Problem

BASE: dict[str, Any] = {"server": {"external_url": "https://acme.example.com"}}


def ca_of(**ca: Any):
    return settings_from_dict({**BASE, "ca": ca}, environ={}).ca


def leaf(ca, name: str | None) -> LeafProfile:
    return profiles.leaf_profile(ca, profiles.configured(ca, name))


@pytest.mark.parametrize(
    ("ca", "name", "expected"),
    [
        ({}, None, LeafProfile()),
        ({}, "tlsclient", LeafProfile(name="tlsclient", key_usage=("digital_signature",),
                                      extended_key_usage=("client_auth",))),
        ({}, "shortlived", LeafProfile(name="shortlived", validity_days=7)),
        # ca.validity_days is the lifetime of every profile without one of its own.
        ({"validity_days": 30}, "tlsclient", LeafProfile(
            name="tlsclient", validity_days=30, key_usage=("digital_signature",),
            extended_key_usage=("client_auth",))),
        ({"validity_days": 30}, "shortlived", LeafProfile(name="shortlived", validity_days=7)),
        # ca.client_auth adds clientAuth to the default profile only.
        ({"client_auth": True}, None, LeafProfile(extended_key_usage=("server_auth", "client_auth"))),
        ({"client_auth": True}, "shortlived", LeafProfile(name="shortlived", validity_days=7)),
        ({"client_auth": True, "default_profile": "tlsclient"}, None, LeafProfile(
            name="tlsclient", key_usage=("digital_signature",), extended_key_usage=("client_auth",))),
        ({"profiles": {"bare": {"common_name": False, "validity_days": 3}},
          "default_profile": "bare"}, None, LeafProfile(name="bare", validity_days=3,
                                                        common_name=False)),
    ],
    ids=["default", "tlsclient", "shortlived", "ca-validity", "own-validity", "client-auth",
         "client-auth-not-others", "client-auth-once", "custom"],
)
def test_leaf_profile(ca: dict[str, Any], name: str | None, expected: LeafProfile) -> None:
    assert leaf(ca_of(**ca), name) == expected


def test_a_profile_the_configuration_lacks_is_invalid_profile() -> None:
    with pytest.raises(Problem) as info:
        profiles.configured(ca_of(), "gold")
    assert (info.value.code, info.value.status) == ("invalidProfile", 400)
