"""NetworkValidator dispatch: enabled types, wildcard rule, results, no exceptions escape."""

from __future__ import annotations

import dataclasses

import pytest

from acmeeh.validation import ValidationResult, NetworkValidator
from acmeeh.validation import validator as validator_module

from .conftest import KEY_AUTHZ, TOKEN, dns_id, ip_id


@pytest.mark.parametrize(
    ("challenge", "identifier", "enabled", "detail"),
    [
        ("http-01", dns_id("*.site.test"), None, "cannot validate a wildcard"),
        ("tls-alpn-01", dns_id("*.site.test"), None, "cannot validate a wildcard"),
        ("dns-01", ip_id("10.0.0.1"), None, "IP address"),
        ("http-01", dns_id("site.test"), ("dns-01",), "'http-01' is not enabled"),
        ("tls-alpn-01", dns_id("site.test"), ("http-01",), "not enabled"),
        ("dns-02", dns_id("site.test"), ("dns-02",), "unknown challenge type"),
        ("bogus", dns_id("site.test"), None, "not enabled"),
    ],
)
def test_refused_before_any_network(
    make_settings, web, zone, tls, challenge, identifier, enabled, detail
) -> None:
    overrides = {} if enabled is None else {"enabled": enabled}
    result = NetworkValidator(make_settings(**overrides)).validate(challenge, identifier, TOKEN, KEY_AUTHZ)
    assert result == ValidationResult(False, result.problem, result.records)
    assert result.problem.code == "malformed" and detail in result.problem.detail
    assert web.requests == [] and zone.queries == [] and tls.server_names == []


def test_result_is_frozen(make_settings) -> None:
    result = NetworkValidator(make_settings()).validate("bogus", dns_id("a.test"), TOKEN, KEY_AUTHZ)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.ok = True  # type: ignore[misc]
    assert isinstance(result.records, tuple)


def test_crash_becomes_server_internal(make_settings, monkeypatch, caplog) -> None:
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(validator_module.http01, "validate", explode)
    result = NetworkValidator(make_settings()).validate("http-01", dns_id("a.test"), TOKEN, KEY_AUTHZ)
    assert result.problem.code == "serverInternal"
    assert "secret" not in result.problem.detail
    assert "secret internals" in caplog.text  # the detail goes to the log


def test_crash_in_caa_becomes_server_internal(make_settings, monkeypatch) -> None:
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(validator_module.caa, "check", explode)
    problem = NetworkValidator(make_settings()).check_caa(dns_id("a.test"), ("ca.test",),
                                                   account_uri="https://ca.test/a/1",
                                                   method="http-01")
    assert problem is not None and problem.code == "serverInternal"


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"allowed_networks": ("not-a-cidr",)}, "allowed_networks"),
        ({"dns01": {"resolvers": ("1.2.3.4:99999",)}}, "bad resolver"),
    ],
)
def test_bad_settings_fail_at_construction(make_settings, overrides, match) -> None:
    with pytest.raises(ValueError, match=match):
        NetworkValidator(make_settings(**overrides))


def test_system_resolver_when_none_configured(make_settings) -> None:
    validator = NetworkValidator(make_settings(dns01={"resolvers": (), "timeout_seconds": 1}))
    # RFC 6761 names never reach the system resolver, so this is offline-safe.
    assert [str(a) for a in validator.resolver.addresses("localhost")] == ["::1", "127.0.0.1"]
