"""Real loopback responders for the validation tests: HTTP, DNS (dnslib) and TLS-ALPN."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from dnslib import QTYPE, RCODE, RR, DNSRecord
from dnslib.server import DNSHandler, DNSServer

ACME_IDENTIFIER = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31")
WAIT = 3.0  # no responder ever blocks longer than this


# ---------------------------------------------------------------- HTTP


class HTTPResponder:
    """ThreadingHTTPServer on 127.0.0.1 (and ::1 when possible) serving `routes`.

    routes[path] = dict(status=200, body=b"", headers={}, delay=0, chunked=False, raw=None,
                        drip=None)  # drip: (list of byte chunks, seconds between them)
    """

    def __init__(self, context: ssl.SSLContext | None = None, ipv6: bool = True) -> None:
        self.routes: dict[str, dict] = {}
        self.requests: list[tuple[str, str]] = []  # (path, Host header)
        self.stop = threading.Event()
        handler = self._handler()
        self.v4 = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        if context is not None:
            self.v4.socket = context.wrap_socket(self.v4.socket, server_side=True)
        self.port = self.v4.server_address[1]
        self.servers = [self.v4]
        self.v6: ThreadingHTTPServer | None = None
        if ipv6:
            try:
                v6_class = type("V6", (ThreadingHTTPServer,), {"address_family": socket.AF_INET6})
                self.v6 = v6_class(("::1", self.port), handler)
                self.servers.append(self.v6)
            except OSError:
                self.v6 = None
        for server in self.servers:
            server.daemon_threads = True
            threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            ).start()

    def close(self) -> None:
        self.stop.set()
        for server in self.servers:
            server.shutdown()
            server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                owner.requests.append((self.path, self.headers.get("Host", "")))
                route = owner.routes.get(self.path, {"status": 404, "body": b"not found"})
                if route.get("delay"):
                    owner.stop.wait(min(route["delay"], WAIT))
                if route.get("drip"):
                    chunks, interval = route["drip"]
                    for chunk in chunks:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        if owner.stop.wait(min(interval, WAIT)):
                            break
                    self.close_connection = True
                    return
                if route.get("raw") is not None:
                    self.wfile.write(route["raw"])
                    self.close_connection = True
                    return
                body = route.get("body", b"")
                self.send_response(route.get("status", 200))
                for name, value in route.get("headers", {}).items():
                    self.send_header(name, value)
                if route.get("chunked"):
                    self.send_header("Transfer-Encoding", "chunked")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    for i in range(0, len(body), 7):
                        part = body[i : i + 7]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body)
                self.close_connection = True

        return Handler


# ---------------------------------------------------------------- DNS


class Zone:
    """dnslib resolver acting like a recursive resolver over an in-memory zone."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], list] = {}
        self.servfail: set[str] = set()
        self.silent: set[str] = set()
        self.stop = threading.Event()
        self.queries: list[tuple[str, str]] = []

    def clear(self) -> None:
        self.records.clear()
        self.servfail.clear()
        self.silent.clear()
        self.queries.clear()

    def add(self, name: str, rtype: str, rdata: object) -> None:
        self.records.setdefault((_fqdn(name), rtype), []).append(rdata)

    def resolve(self, request, handler):  # dnslib resolver interface
        reply = request.reply()
        name = _fqdn(str(request.q.qname))
        qtype = QTYPE[request.q.qtype]
        self.queries.append((name, qtype))
        if name in self.servfail:
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        if name in self.silent:
            self.stop.wait(WAIT)
            return reply
        for _ in range(8):  # chase CNAMEs like a recursive resolver would
            for rdata in self.records.get((name, qtype), []):
                reply.add_answer(RR(name, getattr(QTYPE, qtype), rdata=rdata, ttl=60))
            if self.records.get((name, qtype)):
                return reply
            cnames = self.records.get((name, "CNAME"))
            if not cnames or qtype == "CNAME":
                break
            reply.add_answer(RR(name, QTYPE.CNAME, rdata=cnames[0], ttl=60))
            name = _fqdn(str(cnames[0].label))
        if not any(owner == name for owner, _ in self.records):
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


class _SmallUDPHandler(DNSHandler):
    """Big UDP answers come back empty with TC set, so clients must retry over TCP."""

    def get_reply(self, data: bytes) -> bytes:
        request = DNSRecord.parse(data)
        reply = self.server.resolver.resolve(request, self)
        packed = reply.pack()
        if self.protocol == "udp" and len(packed) > 512:
            # dnslib's own truncate() drops the question, which clients reject.
            short = request.reply()
            short.header.tc = 1
            packed = short.pack()
        return packed


class _QuietLogger:
    def __getattr__(self, name: str):
        return lambda *args, **kwargs: None


class DNSResponder:
    """UDP + TCP dnslib server on one random 127.0.0.1 port."""

    def __init__(self) -> None:
        self.zone = Zone()
        last_error: OSError | None = None
        for _ in range(20):
            udp = DNSServer(
                self.zone,
                address="127.0.0.1",
                port=0,
                logger=_QuietLogger(),
                handler=_SmallUDPHandler,
            )
            self.port = udp.server.server_address[1]
            try:
                tcp = DNSServer(
                    self.zone, address="127.0.0.1", port=self.port, tcp=True, logger=_QuietLogger()
                )
            except OSError as exc:
                last_error = exc
                udp.server.server_close()
                continue
            break
        else:
            raise RuntimeError(f"no common UDP/TCP port: {last_error}")
        self.servers = [udp, tcp]
        for server in self.servers:
            server.server.daemon_threads = True
            server.server.block_on_close = False
            threading.Thread(
                target=server.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            ).start()

    def close(self) -> None:
        self.zone.stop.set()
        for server in self.servers:
            server.server.shutdown()
            server.server.server_close()


def _fqdn(name: str) -> str:
    return name.lower().rstrip(".") + "."


# ---------------------------------------------------------------- TLS-ALPN


def make_cert(
    directory: Path,
    label: str,
    sans: list[x509.GeneralName],
    acme_value: bytes | None = None,
    critical: bool = True,
) -> tuple[str, str]:
    """Self-signed P-256 certificate (and key) files, optionally with acmeIdentifier."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "acme validation test")])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if acme_value is not None:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(ACME_IDENTIFIER, acme_value), critical=critical
        )
    cert = builder.sign(key, hashes.SHA256())
    cert_path, key_path = directory / f"{label}.crt", directory / f"{label}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def dns_san(name: str) -> x509.GeneralName:
    return x509.DNSName(name)


def ip_san(address: str) -> x509.GeneralName:
    return x509.IPAddress(ipaddress.ip_address(address))


class TLSResponder:
    """TLS server on 127.0.0.1:0; each connection uses the current `scenario`.

    scenario = dict(cert=(certfile, keyfile), alpn=["acme-tls/1"] or None, plain=False)
    """

    def __init__(self) -> None:
        self.scenario: dict = {}
        self.server_names: list[str | None] = []
        self.stop = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(WAIT)
        self.sock.close()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(
                target=self._handle, args=(conn, dict(self.scenario)), daemon=True
            ).start()

    def _handle(self, conn: socket.socket, scenario: dict) -> None:
        conn.settimeout(WAIT)
        try:
            if scenario.get("plain"):
                conn.recv(1024)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                return
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*scenario["cert"])
            if scenario.get("alpn"):
                context.set_alpn_protocols(scenario["alpn"])
            context.sni_callback = lambda sock, name, ctx: self.server_names.append(name)
            with context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)  # wait for the client to hang up
        except (OSError, ValueError):
            pass
        finally:
            conn.close()
