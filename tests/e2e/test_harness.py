"""The e2e harness itself: the loopback DNS server, its control endpoint and the certbot hook."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import dns.message
import dns.query
import dns.rcode
import pytest
from support.certbot import HOOKS
from support.dns import ZoneServer
from support.server import deep_merge

pytestmark = pytest.mark.e2e


@pytest.fixture
def zone() -> ZoneServer:
    with ZoneServer() as server:
        server.set_a("a.example.test", "127.0.0.1")
        server.set_txt("_acme-challenge.t.example.test", ["one", "two"])
        server.set_caa("example.test", [(0, "issue", "ca.test")])
        server.set_txt("long.example.test", ["x" * 300])
        yield server


@pytest.mark.parametrize("transport", [dns.query.udp, dns.query.tcp])
@pytest.mark.parametrize(
    ("name", "rtype", "rcode", "answers"),
    [
        ("a.example.test", "A", "NOERROR", ["127.0.0.1"]),
        ("A.Example.Test.", "A", "NOERROR", ["127.0.0.1"]),
        ("a.example.test", "AAAA", "NOERROR", []),
        ("_acme-challenge.t.example.test", "TXT", "NOERROR", ['"one"', '"two"']),
        ("t.example.test", "TXT", "NOERROR", []),  # empty non-terminal
        ("example.test", "CAA", "NOERROR", ['0 issue "ca.test"']),
        ("long.example.test", "TXT", "NOERROR", ['"' + "x" * 255 + '" "' + "x" * 45 + '"']),
        ("unknown.test", "A", "NXDOMAIN", []),
        ("b.a.example.test", "TXT", "NXDOMAIN", []),
    ],
)
def test_zone_answers(
    zone: ZoneServer, transport, name: str, rtype: str, rcode: str, answers: list[str]
) -> None:
    reply = transport(dns.message.make_query(name, rtype), zone.host, port=zone.port, timeout=3)
    assert dns.rcode.to_text(reply.rcode()) == rcode
    got = sorted(rd.to_text() for rrset in reply.answer for rd in rrset)
    assert got == sorted(answers)
    assert reply.flags & dns.flags.AA


def test_add_remove_clear(zone: ZoneServer) -> None:
    name = "_acme-challenge.x.example.test"
    zone.add_txt(name, "v1")
    zone.add_txt(name, "v2")
    zone.add_txt(name, "v1")  # no duplicates
    assert zone.txt(name) == ["v1", "v2"]
    zone.remove_txt(name, "v1")
    assert zone.txt(name) == ["v2"]
    zone.clear_txt(name)
    assert zone.txt(name) == []


def _post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"op": "add", "name": "_acme-challenge.c.test", "value": "k"}, 200),
        ({"op": "remove", "name": "_acme-challenge.c.test", "value": "k"}, 200),
        ({"op": "clear", "name": "_acme-challenge.c.test"}, 200),
        ({"op": "explode", "name": "_acme-challenge.c.test"}, 400),
        ({"name": "_acme-challenge.c.test"}, 400),
        ("not an object", 400),
    ],
)
def test_control_endpoint(zone: ZoneServer, body, status: int) -> None:
    code, _ = _post(zone.control_url, json.dumps(body).encode())
    assert code == status


def test_control_rejects_oversized_body(zone: ZoneServer) -> None:
    code, _ = _post(zone.control_url, b"{" + b" " * 5000 + b"}")
    assert code == 400


@pytest.mark.parametrize("domain", ["h.example.test", "*.h.example.test"])
def test_certbot_hook_script(zone: ZoneServer, domain: str) -> None:
    env = {
        **os.environ,
        "ACMEEH_TEST_DNS_CONTROL": zone.control_url,
        "CERTBOT_DOMAIN": domain,
        "CERTBOT_VALIDATION": "digest",
    }
    hook = [sys.executable, str(HOOKS / "dns01.py")]
    subprocess.run([*hook, "auth"], env=env, check=True, timeout=30, capture_output=True)
    assert zone.txt("_acme-challenge.h.example.test") == ["digest"]
    subprocess.run([*hook, "cleanup"], env=env, check=True, timeout=30, capture_output=True)
    assert zone.txt("_acme-challenge.h.example.test") == []


@pytest.mark.parametrize(
    ("base", "overrides", "expected"),
    [
        ({"a": {"b": 1, "c": 2}}, {"a": {"b": 3}}, {"a": {"b": 3, "c": 2}}),
        ({"a": {"b": 1}}, {"a": 5}, {"a": 5}),
        ({"a": [1, 2]}, {"a": [3]}, {"a": [3]}),
        ({}, {"x": {"y": None}}, {"x": {"y": None}}),
    ],
)
def test_deep_merge(base: dict, overrides: dict, expected: dict) -> None:
    assert deep_merge(base, overrides) == expected
