"""Suite-wide fixtures: the loopback DNS server and running ACMEEH servers for e2e tests.

Session fixtures are per process, so each pytest-xdist worker gets its own DNS server, its own
default ACME server and its own databases (named after the worker id).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.dns import ZoneServer
from support.server import RunningServer, start_server
from support.softhsm import Hsm, create_hsm
from support.tools import required_tool


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: drives real ACME clients against a running server")


@pytest.fixture(scope="session")
def lego_bin() -> str:
    """The lego binary (Debian package) that the e2e and EAB tests drive."""
    return required_tool("lego", "apt-get install lego")


@pytest.fixture(scope="session")
def dns_server() -> Iterator[ZoneServer]:
    """Authoritative DNS on 127.0.0.1 (UDP+TCP), shared by every server of this worker."""
    server = ZoneServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def hsm(tmp_path_factory: pytest.TempPathFactory) -> Hsm:
    """SoftHSM2 tokens with RSA and EC CA keys, made once per test process (SOFTHSM2_CONF is
    read when the PKCS#11 library is initialised, so one configuration serves the process)."""
    return create_hsm(tmp_path_factory.mktemp("softhsm"))


@pytest.fixture(scope="session")
def acme_server(
    tmp_path_factory: pytest.TempPathFactory, dns_server: ZoneServer
) -> Iterator[RunningServer]:
    """The default server (gunicorn, 2 workers) for this worker's whole session."""
    server = start_server(tmp_path_factory.mktemp("acme_server"), dns=dns_server)
    try:
        yield server
    finally:
        server.stop()


class ServerFactory:
    """Callable fixture value: start servers with custom config; all are stopped at teardown."""

    def __init__(self, root: Path, dns: ZoneServer) -> None:
        self.root = root
        self.dns = dns
        self.servers: list[RunningServer] = []

    def __call__(
        self, overrides: dict | None = None, *, workers: int = 2, dev: bool = False
    ) -> RunningServer:
        workdir = self.root / f"server{len(self.servers)}"
        server = start_server(workdir, overrides=overrides, workers=workers, dev=dev, dns=self.dns)
        self.servers.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture
def start_acme_server(
    tmp_path: Path, dns_server: ZoneServer
) -> Iterator[Callable[..., RunningServer]]:
    """Factory: `start_acme_server(overrides=None, *, workers=2, dev=False) -> RunningServer`."""
    factory = ServerFactory(tmp_path / "servers", dns_server)
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """On failure, attach the log tail of every server the test used."""
    report = yield
    if report.failed:
        servers: list[RunningServer] = []
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, RunningServer):
                servers.append(value)
            elif isinstance(value, ServerFactory):
                servers.extend(value.servers)
        for server in servers:
            report.sections.append((f"acmeeh server log {server.log_path}", server.log_tail()))
    return report


# What records collect, switched off by acmeeh.logs.configure_logging.
RECORD_SWITCHES = ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing")


@pytest.fixture
def restore_root() -> Iterator[None]:
    """Put the root logger's handlers and level back after a test that configures logging."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    switches = {name: getattr(logging, name) for name in RECORD_SWITCHES}
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    for name, value in switches.items():  # configure_logging turns these off
        setattr(logging, name, value)
