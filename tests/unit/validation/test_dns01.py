"""dns-01 (RFC 8555 §8.4) against a real dnslib server on loopback."""

from __future__ import annotations

import base64
import hashlib
import time

import pytest
from dnslib import CNAME, TXT, A

from acmeeh.validation import NetworkValidator
from acmeeh.validation.dns01 import txt_value

from .conftest import KEY_AUTHZ, TOKEN, dns_id, ip_id

GOOD = txt_value(KEY_AUTHZ)


def test_txt_value_is_unpadded_base64url_sha256() -> None:
    digest = hashlib.sha256(KEY_AUTHZ.encode()).digest()
    assert GOOD == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert "=" not in GOOD and len(GOOD) == 43


def _setup(zone, case: str) -> None:
    challenge = "_acme-challenge.site.test"
    if case == "good":
        zone.add(challenge, "TXT", TXT(GOOD))
    elif case == "good among others":
        zone.add(challenge, "TXT", TXT("stale-value"))
        zone.add(challenge, "TXT", TXT(GOOD))
    elif case == "good split in strings":
        zone.add(challenge, "TXT", TXT([GOOD[:20].encode(), GOOD[20:].encode()]))
    elif case == "wrong value":
        zone.add(challenge, "TXT", TXT("not-the-digest"))
    elif case == "nxdomain":
        zone.add("site.test", "A", A("10.0.0.1"))
    elif case == "no TXT":
        zone.add(challenge, "A", A("10.0.0.1"))
    elif case == "cname chain":
        zone.add(challenge, "CNAME", CNAME("hop1.delegated.test"))
        zone.add("hop1.delegated.test", "CNAME", CNAME("hop2.delegated.test"))
        zone.add("hop2.delegated.test", "TXT", TXT(GOOD))
    elif case == "cname to wrong":
        zone.add(challenge, "CNAME", CNAME("elsewhere.test"))
        zone.add("elsewhere.test", "TXT", TXT("nope"))
    elif case == "servfail":
        zone.servfail.add(challenge + ".")
    elif case == "silent":
        zone.silent.add(challenge + ".")


@pytest.mark.parametrize(
    ("case", "identifier", "problem", "detail"),
    [
        ("good", "site.test", None, None),
        ("good", "*.site.test", None, None),  # wildcard: record at the base name
        ("good among others", "site.test", None, None),
        ("good split in strings", "site.test", None, None),
        ("cname chain", "site.test", None, None),
        ("wrong value", "site.test", "incorrectResponse", "not-the-digest"),
        ("cname to wrong", "site.test", "incorrectResponse", "nope"),
        ("nxdomain", "site.test", "dns", "no TXT record found at _acme-challenge.site.test"),
        ("no TXT", "site.test", "dns", "no TXT record found"),
        ("servfail", "site.test", "dns", "server failure"),
        ("silent", "site.test", "dns", "timeout"),
    ],
)
def test_dns01(make_settings, zone, case, identifier, problem, detail) -> None:
    _setup(zone, case)
    validator = NetworkValidator(make_settings(dns01={"timeout_seconds": 0.8}))
    start = time.monotonic()
    result = validator.validate("dns-01", dns_id(identifier), TOKEN, KEY_AUTHZ)
    assert time.monotonic() - start < 2.5
    assert result.records == ({"hostname": "site.test", "name": "_acme-challenge.site.test"},)
    if problem is None:
        assert result.ok and result.problem is None
    else:
        assert not result.ok
        assert result.problem.code == problem
        assert detail in result.problem.detail
        assert "Traceback" not in result.problem.detail
    # RFC 8555 §8.2: a server failure or a timeout is worth another attempt, an answer is not
    assert result.transient == (case in ("servfail", "silent"))


def test_dns01_queries_only_the_challenge_name(make_settings, zone) -> None:
    zone.add("_acme-challenge.site.test", "TXT", TXT(GOOD))
    NetworkValidator(make_settings()).validate("dns-01", dns_id("*.site.test"), TOKEN, KEY_AUTHZ)
    assert zone.queries == [("_acme-challenge.site.test.", "TXT")]


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_dns01_refuses_ip_identifiers(make_settings, zone, address: str) -> None:
    result = NetworkValidator(make_settings()).validate("dns-01", ip_id(address), TOKEN, KEY_AUTHZ)
    assert result.problem.code == "malformed" and zone.queries == []


def test_dns01_unreachable_resolver_is_a_dns_problem(make_settings) -> None:
    settings = make_settings(dns01={"resolvers": ("127.0.0.1:1",), "timeout_seconds": 0.5})
    result = NetworkValidator(settings).validate("dns-01", dns_id("site.test"), TOKEN, KEY_AUTHZ)
    assert result.problem.code == "dns"
