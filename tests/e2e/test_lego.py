"""lego (Go client, Debian package) against a running ACMEEH server: http-01, tls-alpn-01, revoke."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from support.certbot import dns_names, load_pem_chain, openssl_verify
from support.server import RunningServer

pytestmark = pytest.mark.e2e

TIMEOUT_SECONDS = 120
EMAIL = "a@b.test"


def run_lego(
    lego_bin: str, server: RunningServer, path: Path, *args: str, check: bool = True
) -> subprocess.CompletedProcess:
    """`lego --server DIR --email --accept-tos --path PATH ARGS`, bounded, output on failure."""
    command = [
        lego_bin,
        "--server",
        server.directory_url,
        "--email",
        EMAIL,
        "--accept-tos",
        "--path",
        str(path),
        *args,
    ]
    result = subprocess.run(
        command,
        check=False,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "LEGO_PATH": str(path)},
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"lego exited {result.returncode}: {' '.join(command)}\n--- stdout ---\n"
            f"{result.stdout}\n--- stderr ---\n{result.stderr}\n"
            f"--- server log (tail) ---\n{server.log_tail(4000)}"
        )
    return result


def challenge_args(server: RunningServer, kind: str) -> list[str]:
    if kind == "http":
        return ["--http", "--http.port", f"127.0.0.1:{server.http01_port}"]
    return ["--tls", "--tls.port", f"127.0.0.1:{server.tlsalpn01_port}"]


@pytest.mark.parametrize(("kind", "domain"), [("http", "l.localhost"), ("tls", "t.localhost")])
def test_lego_issue_and_revoke(
    lego_bin: str, acme_server: RunningServer, tmp_path: Path, kind: str, domain: str
) -> None:
    path = tmp_path / "lego"
    run_lego(lego_bin, acme_server, path, *challenge_args(acme_server, kind), "-d", domain, "run")

    certs = path / "certificates"
    bundle = certs / f"{domain}.crt"
    issuer = certs / f"{domain}.issuer.crt"
    openssl_verify(acme_server.root_cert_path, bundle, untrusted=issuer)
    leaf = load_pem_chain(bundle)[0]
    assert dns_names(leaf) == {domain}

    # RFC 8555 §7.6 revocation with the account key; --keep leaves the files for the retry.
    run_lego(lego_bin, acme_server, path, "-d", domain, "revoke", "--keep")
    again = run_lego(lego_bin, acme_server, path, "-d", domain, "revoke", "--keep", check=False)
    assert again.returncode != 0
    assert "alreadyRevoked" in again.stdout + again.stderr, again.stdout + again.stderr
