"""Pebble, Let's Encrypt's small in-memory ACME test server (Debian package `pebble`), as the
peer that `run_matrix.py --peer pebble` measures side by side with ACMEEH.

Pebble serves its ACME API over TLS only: a throwaway self-signed certificate for 127.0.0.1 is
written next to its configuration and handed to the load generator (`--ca-file`). Its
validation authority is told to accept every challenge at once (the counterpart of ACMEEH's
`challenges.auto_accept`), never to reject a good nonce, never to reuse an authorization and
never to sleep, so that the two servers do the same work per flow.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import paths  # noqa: F401  (first: tests/ on sys.path)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from harness import stop_process_group
from support.dns import free_port

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
# https://github.com/letsencrypt/pebble#readme: the switches that make it an always-valid CA
ENVIRONMENT = {
    "PEBBLE_VA_ALWAYS_VALID": "1",  # every challenge is valid, without a network check
    "PEBBLE_VA_NOSLEEP": "1",  # no random 0-15 s sleep before "validating"
    "PEBBLE_WFE_NONCEREJECT": "0",  # by default it rejects 5% of good nonces
    "PEBBLE_AUTHZREUSE": "0",  # every order gets a fresh authorization, as with ACMEEH
}


def executable() -> str | None:
    return shutil.which("pebble") or shutil.which("pebble", path="/usr/bin:/usr/local/bin")


def tls_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed P-256 certificate for 127.0.0.1 and localhost (one day), and its key
    (mode 0600). The certificate is also the trust anchor the client is given."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pebble bench listener")])
    now = datetime.datetime.now(datetime.UTC)
    sans = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "listener.pem", directory / "listener.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return cert_path, key_path


@dataclass
class PebbleServer:
    process: subprocess.Popen
    directory_url: str
    ca_file: str
    log_path: Path
    database_url: str | None = None  # in memory: no database to measure
    management_url: str = ""  # /roots/0, /intermediates/0, /cert-status-by-serial/<hex>

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        stop_process_group(self.process, STOP_TIMEOUT)


def _answers(url: str, ca_file: str, process: subprocess.Popen) -> str | None:
    """Wait (bounded) until `url` answers 200 over TLS; None then, else the last error."""
    context = ssl.create_default_context(cafile=ca_file)
    deadline, last = time.monotonic() + START_TIMEOUT, "no attempt"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"exited with {process.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as response:
                if response.status == 200:
                    return None
        except (urllib.error.URLError, OSError) as exc:
            last = repr(exc)
        time.sleep(0.2)
    return last


def start_pebble(workdir: Path, binary: str | None = None,
                 eab_keys: dict[str, str] | None = None) -> PebbleServer:
    """Pebble on 127.0.0.1 (ACME API, management API, and the unused challenge ports), always
    valid; waits (bounded) until its directory answers. With `eab_keys` (key id → base64url
    MAC key) it requires external account binding (the acme_upstream backend's tests)."""
    binary = binary or executable()
    if binary is None:
        raise SystemExit("pebble is not installed (apt-get install pebble)")
    workdir.mkdir(parents=True, exist_ok=True)
    cert, key = tls_certificate(workdir)
    port, management = free_port(), free_port()
    config = {
        "pebble": {
            "listenAddress": f"127.0.0.1:{port}",
            "managementListenAddress": f"127.0.0.1:{management}",
            "certificate": str(cert),
            "privateKey": str(key),
            "httpPort": free_port(),
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": bool(eab_keys),
            "externalAccountMACKeys": eab_keys or {},
        }
    }
    config_path = workdir / "pebble-config.json"
    config_path.write_text(json.dumps(config, indent=1))
    log_path = workdir / "pebble.log"
    env = {**os.environ, **ENVIRONMENT}
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [binary, "-config", str(config_path)],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = PebbleServer(process, f"https://127.0.0.1:{port}/dir", str(cert), log_path,
                          management_url=f"https://127.0.0.1:{management}")
    last = _answers(server.directory_url, server.ca_file, process)
    if last is None:
        return server
    server.stop()
    tail = log_path.read_text(errors="replace")[-3000:]
    raise SystemExit(f"pebble did not answer {server.directory_url} ({last})\n{tail}")
