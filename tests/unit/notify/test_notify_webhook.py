"""The webhook sender without a database: signatures, URL rules, the target network policy,
and real POSTs over HTTP and HTTPS to loopback receivers (the connection goes to the address
that was checked; the TLS certificate is checked against the host name)."""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from acmeeh.authority.webhooks import TargetPolicy
from acmeeh.issuance import generate_dev_ca
from acmeeh.issuance.devtls import issue_dev_tls
from acmeeh.notify.webhook import (
    SIGNATURE_HEADER,
    Sender,
    WebhookError,
    parse_target,
    signature,
    verify,
)


def test_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    header = signature("s3cret", 1700000000, b'{"a":1}')
    expected = hmac.new(b"s3cret", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify("s3cret", header, b'{"a":1}', now=1700000100)
    assert not verify("s3cret", header, b'{"a":2}', now=1700000100)
    assert not verify("other", header, b'{"a":1}', now=1700000100)
    assert not verify("s3cret", header, b'{"a":1}', now=1700000400)  # older than 5 minutes
    assert not verify("s3cret", "v1=abc", b'{"a":1}')


@pytest.mark.parametrize(("url", "target"), [
    ("https://hooks.example.com/acme", ("https", "hooks.example.com", 443, "/acme")),
    ("http://10.1.2.3:8080/a?b=c", ("http", "10.1.2.3", 8080, "/a?b=c")),
    ("http://[fd00::1]/", ("http", "fd00::1", 80, "/")),
    ("http://h.example", ("http", "h.example", 80, "/")),
])
def test_targets(url: str, target: tuple) -> None:
    got = parse_target(url)
    assert (got.scheme, got.host, got.port, got.path) == target


@pytest.mark.parametrize("url", [
    "ftp://h.example/", "//h.example/", "http:///x", "http://u:p@h.example/",
    "http://h.example/#x", "http://h.example:0/", "http://h.example:70000/",
    "http://h.example/a b",
])
def test_bad_targets(url: str) -> None:
    with pytest.raises(ValueError):
        parse_target(url)


@pytest.mark.parametrize(("allowed", "address", "refused"), [
    ((), "10.0.0.5", None),
    ((), "192.168.1.1", None),
    ((), "127.0.0.1", "loopback"),
    ((), "::1", "loopback"),
    ((), "::ffff:127.0.0.1", "loopback"),
    ((), "169.254.169.254", "link-local"),
    ((), "0.0.0.0", "unspecified"),
    ((), "224.0.0.1", "multicast or broadcast"),
    (("10.0.0.0/8",), "10.9.9.9", None),
    (("10.0.0.0/8",), "192.168.1.1", "outside webhooks.allowed_networks"),
    (("127.0.0.0/8",), "127.0.0.1", None),
    (("127.0.0.0/8",), "169.254.169.254", "outside webhooks.allowed_networks"),
])
def test_target_policy(allowed: tuple, address: str, refused: str | None) -> None:
    assert TargetPolicy(allowed).refusal(ipaddress.ip_address(address)) == refused


class _Sink:
    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        self.got: list[tuple[dict, bytes]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                sink.got.append((dict(self.headers.items()), body))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if context is not None:
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def loopback_only(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    return None if address.is_loopback else "not loopback"


def test_post_over_http_signs_and_refuses_what_the_policy_refuses() -> None:
    sink = _Sink()
    try:
        sender = Sender(timeout=5, user_agent="test", check=loopback_only)
        status = sender.post(f"http://127.0.0.1:{sink.port}/in", b'{"x":1}', secret="k",
                             headers={"ACMEEH-Event": "account.created"})
        assert status == 202
        headers, body = sink.got[0]
        assert body == b'{"x":1}' and headers["ACMEEH-Event"] == "account.created"
        assert verify("k", headers[SIGNATURE_HEADER], body)
        strict = Sender(timeout=5, user_agent="test", check=lambda a: "nope")
        with pytest.raises(WebhookError, match="not allowed") as refused:
            strict.post(f"http://127.0.0.1:{sink.port}/in", b"{}", secret="k")
        assert refused.value.connection and len(sink.got) == 1
    finally:
        sink.stop()


def test_post_over_https_checks_the_certificate(tmp_path: Path) -> None:
    ca = generate_dev_ca(tmp_path / "ca")
    chain, key = issue_dev_tls(ca, ["localhost"])
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(chain, key)
    sink = _Sink(server_context)
    try:
        trusting = ssl.create_default_context(cafile=str(ca.root))
        sender = Sender(timeout=5, user_agent="test", check=loopback_only, ssl_context=trusting)
        assert sender.post(f"https://localhost:{sink.port}/in", b"{}", secret="k") == 202
        strangers = Sender(timeout=5, user_agent="test", check=loopback_only)  # system store
        with pytest.raises(WebhookError, match="SSL|certificate"):
            strangers.post(f"https://localhost:{sink.port}/in", b"{}", secret="k")
        assert len(sink.got) == 1
    finally:
        sink.stop()
