"""certbot against ACMEEH under gunicorn whose CA key is in a SoftHSM2 token (ca.backend pkcs11),
RSA and EC: the chain verifies with openssl, and the CRL and OCSP answers (signed in the token,
the latter by a delegated responder the token certified) verify with openssl too."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.certbot import Certbot, dns_names, openssl_verify
from support.dns import ZoneServer
from support.server import RunningServer, start_server
from support.softhsm import Hsm

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=["rsa", "ec"])
def hsm_server(request: pytest.FixtureRequest, hsm: Hsm, dns_server: ZoneServer,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    ca = hsm.rsa if request.param == "rsa" else hsm.ec
    server = start_server(tmp_path_factory.mktemp(f"hsm-{request.param}"), dns=dns_server,
                          overrides={"ca": ca.ca_settings()}, env=hsm.environ())
    try:
        yield server
    finally:
        server.stop()


def openssl(*args: str) -> str:
    done = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, f"openssl {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout + done.stderr


def test_certbot_issues_through_the_token(hsm_server: RunningServer, tmp_path: Path) -> None:
    certbot = Certbot(hsm_server, tmp_path / "certbot")
    certbot.certonly_standalone("hsm.localhost")
    live = certbot.live("hsm.localhost")
    openssl_verify(hsm_server.root_cert_path, live / "fullchain.pem", untrusted=live / "chain.pem")
    assert dns_names(certbot.certificate("hsm.localhost")) == {"hsm.localhost"}

    crl = tmp_path / "crl.der"
    crl.write_bytes(urllib.request.urlopen(f"{hsm_server.base_url}/crl", timeout=10).read())
    chain = tmp_path / "ca-chain.pem"
    chain.write_bytes(hsm_server.ca_cert_path.read_bytes() + hsm_server.root_cert_path.read_bytes())
    assert "verify OK" in openssl("crl", "-inform", "DER", "-in", str(crl), "-CAfile", str(chain),
                                  "-noout")

    answer = openssl("ocsp", "-issuer", str(hsm_server.ca_cert_path), "-cert",
                     str(live / "cert.pem"), "-url", f"{hsm_server.base_url}/ocsp",
                     "-CAfile", str(chain), "-no_nonce")
    assert "Response verify OK" in answer and ": good" in answer

    health = json.loads(urllib.request.urlopen(f"{hsm_server.base_url}/healthz",
                                               timeout=10).read())
    backend = health["checks"]["ca_backend"]
    assert backend["status"] == "ok" and backend["backend"] == "pkcs11"
    assert backend["sessions"]["max"] == 4 and backend["sessions"]["open"] >= 1
