"""Fixtures of the end-to-end tests that need more than the suite-wide servers."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.dns import ZoneServer
from support.nginx import Proxied, start_proxied
from support.tools import required_tool


@pytest.fixture(scope="session")
def proxied(tmp_path_factory: pytest.TempPathFactory, dns_server: ZoneServer) -> Iterator[Proxied]:
    """ACMEEH under gunicorn behind Debian's nginx (TLS from a throw-away CA), shared by the
    reverse proxy and monitoring tests of this worker."""
    nginx_bin = required_tool("nginx", "apt-get install nginx")
    proxied = start_proxied(nginx_bin, tmp_path_factory.mktemp("nginx"), dns_server)
    try:
        yield proxied
    finally:
        proxied.stop()
