"""Client address behind reverse proxies: only trusted hops are believed."""
from __future__ import annotations

import ipaddress

import pytest

from acmeeh.web.proxy import ProxyFix, client_address

TRUSTED = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("172.16.0.0/12")]


@pytest.mark.parametrize(("peer", "xff", "client"), [
    ("10.0.0.5", "198.51.100.7", "198.51.100.7"),
    ("10.0.0.5", "203.0.113.9, 198.51.100.7", "198.51.100.7"),      # spoofed left part ignored
    ("10.0.0.5", "198.51.100.7, 172.16.3.4", "198.51.100.7"),       # two trusted hops
    ("198.51.100.8", "1.2.3.4", "198.51.100.8"),                     # untrusted peer: no belief
    ("10.0.0.5", "", "10.0.0.5"),                                    # no header
    ("10.0.0.5", "10.1.1.1, 10.2.2.2", "10.1.1.1"),                  # all trusted: first hop
    ("10.0.0.5", "not-an-ip", "10.0.0.5"),                           # garbage
    ("10.0.0.5", "2001:db8::1", "2001:db8::1"),
])
def test_client_address(peer, xff, client):
    assert client_address(peer, xff, TRUSTED) == client


def test_middleware_rewrites_remote_addr():
    seen = {}

    def app(environ, start_response):
        seen["addr"] = environ["REMOTE_ADDR"]
        return []

    ProxyFix(app, ["10.0.0.0/8"])({"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "192.0.2.4"}, None)
    assert seen["addr"] == "192.0.2.4"
