"""Debian's nginx on loopback in front of a RunningServer, with the shipped site template.

`start_nginx(nginx_bin, root, server, port)` makes a throw-away TLS CA (the dev CA generator)
and a certificate for 127.0.0.1 and localhost, fills deploy/nginx/acmeeh.conf.template, wraps it
in a minimal main configuration (everything under `root`), runs `nginx -g 'daemon off;'` and
waits until it answers through to the server. `start_proxied` starts both, configured as an
operator would (proxy.trusted_proxies, rate limits, JSON logs); `client_from` is an ACME client
whose connections leave from a chosen loopback address.
"""
from __future__ import annotations

import datetime
import ipaddress
import os
import re
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from requests.adapters import HTTPAdapter

from .acme_client import AcmeClient
from .database import ROOT
from .dns import ZoneServer, free_port
from .server import RunningServer, _dev_ca, start_server

TEMPLATE = ROOT / "deploy" / "nginx" / "acmeeh.conf.template"
START_TIMEOUT_SECONDS = 15
STOP_TIMEOUT_SECONDS = 10
PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)\}")
PROXY = "127.0.0.1"  # nginx reaches gunicorn from here: the one trusted proxy
NEW_ACCOUNTS_PER_IP = 2

MAIN_CONF = """\
{user}worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log info;
events {{ worker_connections 512; }}
http {{
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    log_format acmeeh '$remote_addr "$request" $status $body_bytes_sent $request_id';
    access_log {root}/access.log acmeeh;
    include {root}/acmeeh.conf;
}}
"""


def fill(template: str, values: dict[str, str]) -> str:
    """envsubst restricted to `values`: every ${NAME} must be given; nginx's $vars are kept."""
    missing = sorted(set(PLACEHOLDER.findall(template)) - set(values))
    if missing:
        raise KeyError(f"no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def tls_certificate(ca_cert: Path, ca_key: Path, directory: Path) -> tuple[Path, Path]:
    """A leaf for 127.0.0.1 and localhost signed by the throw-away CA (`ca_cert`, `ca_key`);
    the certificate file holds the leaf, then `ca_cert` (what nginx sends)."""
    issuer = x509.load_pem_x509_certificate(ca_cert.read_bytes())
    issuer_key = serialization.load_pem_private_key(ca_key.read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(issuer_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    cert_path, key_path = directory / "tls.pem", directory / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + ca_cert.read_bytes())
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


@dataclass
class Nginx:
    """A running nginx: its TLS URL, the CA that signed its certificate, its files."""

    process: subprocess.Popen
    port: int
    ca_cert_path: Path
    root: Path

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_cert_path))

    def log(self, name: str = "access.log") -> str:
        path = self.root / name
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish requests, then exit
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)


def site_values(server: RunningServer, port: int, tls: tuple[Path, Path]) -> dict[str, str]:
    return {
        "ACMEEH_UPSTREAM": f"127.0.0.1:{server.config['server']['port']}",
        "NGINX_LISTEN": f"127.0.0.1:{port}",
        "NGINX_SERVER_NAME": "127.0.0.1",
        "NGINX_TLS_CERT": str(tls[0]),
        "NGINX_TLS_KEY": str(tls[1]),
    }


def start_nginx(nginx_bin: str, root: Path, server: RunningServer, port: int) -> Nginx:
    """nginx on 127.0.0.1:`port` (TLS) in front of `server`; RuntimeError with its log if it
    does not answer /livez through to the server within START_TIMEOUT_SECONDS."""
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    ca = _dev_ca(root / "tls-ca")  # root and intermediate: clients trust the root
    tls = tls_certificate(ca.certificate, ca.key, root)
    (root / "acmeeh.conf").write_text(fill(TEMPLATE.read_text(), site_values(server, port, tls)))
    # As root, nginx's workers would switch to `nobody`, who cannot enter the test's 0700 dirs.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    conf = root / "nginx.conf"
    conf.write_text(MAIN_CONF.format(user=user, root=root))
    with open(root / "nginx.out", "wb") as out:
        process = subprocess.Popen(
            [nginx_bin, "-p", str(root), "-c", str(conf), "-g", "daemon off;"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    nginx = Nginx(process=process, port=port, ca_cert_path=ca.root, root=root)
    try:
        _wait_ready(nginx)
    except BaseException:
        nginx.stop()
        raise
    return nginx


def _wait_ready(nginx: Nginx) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    last = "no attempt"
    while time.monotonic() < deadline:
        if nginx.process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", nginx.port), timeout=2) as raw, \
                    nginx.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                status = tls.recv(64).split(b" ", 2)[1:2]
                if status == [b"200"]:
                    return
                last = repr(status)
        except OSError as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise RuntimeError(f"nginx did not answer /livez within {START_TIMEOUT_SECONDS}s ({last}):\n"
                       f"{nginx.log('nginx.out')}\n{nginx.log('error.log')[-4000:]}")


# --- ACMEEH behind nginx, as an operator runs it ------------------------------------------------
@dataclass
class Proxied:
    server: RunningServer
    nginx: Nginx

    @property
    def direct_url(self) -> str:
        """gunicorn itself, bypassing nginx."""
        return f"http://127.0.0.1:{self.server.config['server']['port']}"

    def stop(self) -> None:
        try:
            self.nginx.stop()
        finally:
            self.server.stop()


def start_proxied(nginx_bin: str, root: Path, dns: ZoneServer) -> Proxied:
    """gunicorn (2 workers x 2 threads, JSON logs, new_accounts_per_ip limit) behind nginx."""
    port, nginx_port = free_port(), free_port()
    overrides = {
        "server": {"port": port, "external_url": f"https://127.0.0.1:{nginx_port}", "threads": 2},
        "proxy": {"enabled": True, "trusted_proxies": [f"{PROXY}/32"]},
        "security": {"rate_limits": {
            "enabled": True, "new_accounts_per_ip": {"count": NEW_ACCOUNTS_PER_IP}}},
        "logging": {"format": "json"},
    }
    server = start_server(root / "acmeeh", overrides=overrides, dns=dns,
                          ready_url=f"http://127.0.0.1:{port}/acme/directory")
    try:
        return Proxied(server, start_nginx(nginx_bin, root / "nginx", server, nginx_port))
    except BaseException:
        server.stop()
        raise


class SourceAdapter(HTTPAdapter):
    """Connections leave from `source` (any 127/8 address is ours on Linux loopback)."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def client_from(proxied: Proxied, source: str, forged: str | None = None) -> AcmeClient:
    """An ACME client of the proxied server whose connections come from `source`; `forged` is
    an X-Forwarded-For it sends itself (nginx appends the real address after it)."""
    session = requests.Session()
    session.mount("https://", SourceAdapter(source))
    if forged:
        session.headers["X-Forwarded-For"] = forged
    return AcmeClient(proxied.server.directory_url, session=session,
                      verify=str(proxied.nginx.ca_cert_path))
