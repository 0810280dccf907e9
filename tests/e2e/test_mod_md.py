"""Apache httpd's own ACME client (mod_md) gets a certificate.

mod_md builds the chain by following Link rel="up" with POST-as-GET until no new link comes;
when a linked resource refused POST-as-GET it threw the certificate away and retried forever.
"""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography import x509
from support.certbot import dns_names, openssl_verify
from support.dns import free_port
from support.server import RunningServer
from support.tools import required_tool

pytestmark = pytest.mark.e2e
WAIT_SECONDS = 60
MODULES = Path("/usr/lib/apache2/modules")

CONFIG = """\
ServerRoot {root}
DefaultRuntimeDir {root}
PidFile {root}/httpd.pid
ErrorLog {root}/error.log
LogLevel info md:debug
{user}
LoadModule mpm_event_module {modules}/mod_mpm_event.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule socache_shmcb_module {modules}/mod_socache_shmcb.so
LoadModule ssl_module {modules}/mod_ssl.so
LoadModule md_module {modules}/mod_md.so
Listen 127.0.0.1:{http_port}
Listen 127.0.0.1:{https_port}
ServerName localhost
ServerAdmin admin@example.test
MDStoreDir {root}/md
MDCertificateAuthority {directory}
MDCertificateAgreement accepted
MDCAChallenges http-01
MDPortMap http:{http_port} https:{https_port}
MDRenewMode always
MDomain {domain}
<VirtualHost 127.0.0.1:{https_port}>
  ServerName {domain}
  SSLEngine on
</VirtualHost>
"""


@pytest.fixture
def apache(tmp_path: Path) -> Iterator[Callable[[RunningServer, str], Path]]:
    """start(server, domain) runs httpd with mod_md against `server`; returns its folder."""
    binary = required_tool("apache2", "apt-get install apache2-bin")
    if not (MODULES / "mod_md.so").exists():
        pytest.fail(f"{MODULES}/mod_md.so is missing (apt-get install apache2-bin)")
    # Its children run as www-data when we are root: the folder must be theirs to write and
    # reachable, which pytest's private tmp_path is not.
    root = Path(tempfile.mkdtemp(prefix="acmeeh-mod-md-"))
    processes: list[subprocess.Popen] = []

    def start(server: RunningServer, domain: str) -> Path:
        user = ""
        if os.geteuid() == 0:
            account = pwd.getpwnam("www-data")
            os.chmod(root, 0o755)
            (root / "md").mkdir()
            os.chown(root / "md", account.pw_uid, account.pw_gid)
            user = "User www-data\nGroup www-data"
        conf = root / "httpd.conf"
        conf.write_text(CONFIG.format(
            root=root, user=user, modules=MODULES, http_port=server.http01_port,
            https_port=free_port(), directory=server.directory_url, domain=domain))
        processes.append(subprocess.Popen(
            [binary, "-f", str(conf), "-DFOREGROUND"], stdin=subprocess.DEVNULL,
            stdout=tmp_path.joinpath("httpd.out").open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True))
        return root

    try:
        yield start
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        shutil.rmtree(root, ignore_errors=True)


def wait_for_certificate(root: Path, domain: str) -> Path:
    """The chain mod_md stored for `domain`, or fail with its log."""
    log = root / "error.log"
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        for where in ("staging", "domains"):
            pubcert = root / "md" / where / domain / "pubcert.pem"
            if pubcert.exists() and pubcert.stat().st_size:
                return pubcert
        text = log.read_text(errors="replace") if log.exists() else ""
        if "[md:error]" in text:
            break
        time.sleep(0.5)
    text = log.read_text(errors="replace") if log.exists() else "(no log)"
    raise AssertionError(f"mod_md got no certificate for {domain}:\n{text[-6000:]}")


def test_mod_md_gets_a_certificate(
    apache: Callable[[RunningServer, str], Path], start_acme_server
) -> None:
    server = start_acme_server()
    domain = f"md-{uuid.uuid4().hex[:10]}.localhost"
    pubcert = wait_for_certificate(apache(server, domain), domain)
    chain = x509.load_pem_x509_certificates(pubcert.read_bytes())
    issuing = x509.load_pem_x509_certificate(server.ca_cert_path.read_bytes())
    root = x509.load_pem_x509_certificate(server.root_cert_path.read_bytes())
    assert chain[1:] == [issuing] and root not in chain  # RFC 8555 §7.4.2: no trust anchor
    assert dns_names(chain[0]) == {domain}
    openssl_verify(server.root_cert_path, pubcert, untrusted=pubcert)
    log = (pubcert.parents[2].parent / "error.log").read_text(errors="replace")
    assert "[md:error]" not in log and "[md:warn]" not in log, log[-4000:]
