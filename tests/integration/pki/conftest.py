"""Fixtures of the revocation-status tests: one running server per module with a quick CRL
worker, an http-01 responder, certificates issued through the raw ACME client, and an in-process
Env on the server's database for builder races."""
from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from psycopg_pool import ConnectionPool
from support.acme_client import AcmeClient, Http01Responder, expect
from support.server import RunningServer, start_server

from acmeeh.authority.env import Env
from acmeeh.config.load import settings_from_dict
from acmeeh.issuance import load_backend

OVERRIDES = {
    "crl": {"poll_seconds": 0.3, "rebuild_interval_seconds": 3600},
    "ocsp": {"cache_seconds": 300, "nonce_enabled": True},
    "renewal_info": {"retry_after_seconds": 120},
}
OPENSSL_TIMEOUT = 30


@pytest.fixture(scope="module")
def pki_server(tmp_path_factory: pytest.TempPathFactory, dns_server) -> Iterator[RunningServer]:
    with start_server(tmp_path_factory.mktemp("pki_server"), overrides=OVERRIDES,
                      dns=dns_server) as server:
        yield server


@pytest.fixture(scope="module")
def responder(pki_server: RunningServer) -> Iterator[Http01Responder]:
    with Http01Responder(pki_server.http01_port) as http01:
        yield http01


def name(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}.localhost"


@dataclass
class Issued:
    """A certificate obtained through ACME, written to disk for openssl."""

    client: AcmeClient
    cert: x509.Certificate
    der: bytes
    pem_path: Path
    names: list[str]
    order: dict

    @property
    def serial_hex(self) -> str:
        return format(self.cert.serial_number, "X")


@pytest.fixture(scope="module")
def account(pki_server: RunningServer) -> AcmeClient:
    client = AcmeClient(pki_server.directory_url)
    expect(client.new_account(contact=["mailto:pki@example.com"]), 201)
    return client


@pytest.fixture(scope="module")
def issue(pki_server: RunningServer, responder: Http01Responder, account: AcmeClient,
          tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Issued]:
    """issue(client=None, names=None) → Issued (one new certificate per call)."""
    folder = tmp_path_factory.mktemp("issued")

    def obtain(client: AcmeClient | None = None, names: list[str] | None = None) -> Issued:
        client = client or account
        names = names or [name("pki")]
        got = client.obtain_certificate(names, http01=responder)
        leaf_pem = got["pem"].split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
        cert = x509.load_pem_x509_certificate(leaf_pem.encode())
        path = folder / f"{cert.serial_number:x}.pem"
        path.write_text(leaf_pem)
        der = cert.public_bytes(serialization.Encoding.DER)
        return Issued(client, cert, der, path, names, got["order"])

    return obtain


def openssl(*args: str, check: bool = False) -> subprocess.CompletedProcess:
    """Run openssl (bounded); output as text."""
    return subprocess.run(["openssl", *args], capture_output=True, text=True,
                          timeout=OPENSSL_TIMEOUT, check=check)


def wait_for(predicate: Callable[[], object], *, timeout: float = 15.0, interval: float = 0.2):
    """Poll `predicate` until it returns something truthy (bounded); return that value."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / interval) + 2):
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            break
        time.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout}s")


@pytest.fixture(scope="module")
def server_env(pki_server: RunningServer) -> Iterator[Env]:
    """An Env in this process on the server's database and configuration (a second instance)."""
    settings = settings_from_dict(pki_server.config, environ={})
    with ConnectionPool(pki_server.database_url, min_size=1, max_size=8,
                        kwargs={"autocommit": True}) as pool:
        yield Env(settings=settings, pool=pool, ca=load_backend(settings.ca), validator=None,
                  dispatch=lambda _id: None)
