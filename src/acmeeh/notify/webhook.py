"""Webhook deliveries: a signed HTTP POST of a JSON body (no DB).

The signature header is `ACMEEH-Signature: t=<unix seconds>,v1=<hex>` where v1 is
HMAC-SHA256 keyed with the subscription's secret (its UTF-8 bytes) over "<t>." + body.
Receivers recompute it, compare in constant time and refuse stale timestamps.

The target's addresses are resolved here and each is judged by `check` (the caller's network
policy) BEFORE connecting; the connection then goes to that very address (no second lookup a
DNS rebinding could change), and redirects are never followed.
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SIGNATURE_HEADER = "ACMEEH-Signature"
MAX_RESPONSE_BYTES = 65536


class WebhookError(Exception):
    """A delivery did not succeed. `connection` is True when the receiver could not be reached
    at all (so sending it more now is pointless); `status` is the HTTP status when it answered."""

    def __init__(self, message: str, *, connection: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.connection = connection
        self.status = status


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, now: float | None = None,
           tolerance: int = 300) -> bool:
    """What a receiver does (documented, and used by the tests): a v1 signature over the body
    that matches, with a timestamp within `tolerance` seconds of now."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        stamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - stamp) > tolerance:
        return False
    expected = signature(secret, stamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str


def parse_target(url: str) -> Target:
    """http(s)://host[:port]/path?query, no user info, no fragment; ValueError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("an absolute http or https URL")
    if parts.username is not None or parts.password is not None:
        raise ValueError("no user:password@ in the URL (use the signature to authenticate)")
    if parts.fragment or any(c.isspace() or ord(c) < 32 for c in url):
        raise ValueError("no fragment, spaces or control characters")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ValueError("a port from 1 to 65535")
    port = port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path)


def literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address of `host` (an IP literal is itself)."""
    found = literal(host)
    if found is not None:
        return [found]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise WebhookError(f"cannot resolve {host}: {exc.strerror or exc}", connection=True) from None
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


class _Pinned(http.client.HTTPConnection):
    """HTTP to one given address, whatever the host name says."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    """HTTPS to one given address, the certificate checked against the host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float,
                 context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._ctx = context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._ctx.wrap_socket(raw, server_hostname=self.host)


class Sender:
    """POSTs deliveries. `check(address)` returns why an address is refused, or None."""

    def __init__(self, *, timeout: float, user_agent: str,
                 check: Callable[[IPAddress], str | None],
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.timeout = timeout
        self.user_agent = user_agent
        self.check = check
        self.ssl_context = ssl_context or ssl.create_default_context()

    def address(self, target: Target) -> IPAddress:
        """The first allowed address of the target; WebhookError when none is."""
        found = resolve(target.host, target.port)
        refusals = [(a, self.check(a)) for a in found]
        allowed = [a for a, why in refusals if why is None]
        if not allowed:
            first, why = refusals[0] if refusals else (None, "no address")
            raise WebhookError(f"{target.host}: address {first} is not allowed ({why})",
                               connection=True)
        return allowed[0]

    def post(self, url: str, body: bytes, *, secret: str,
             headers: Mapping[str, str] | None = None) -> int:
        """POST `body`; the 2xx status, else WebhookError."""
        try:
            target = parse_target(url)
        except ValueError as exc:
            raise WebhookError(f"bad URL: {exc}", connection=True) from None
        address = str(self.address(target))
        send = {"Content-Type": "application/json", "User-Agent": self.user_agent,
                SIGNATURE_HEADER: signature(secret, int(time.time()), body), **(headers or {})}
        conn: http.client.HTTPConnection
        if target.scheme == "https":
            conn = _PinnedTLS(target.host, target.port, address, self.timeout, self.ssl_context)
        else:
            conn = _Pinned(target.host, target.port, address, self.timeout)
        try:
            conn.request("POST", target.path, body=body, headers=send)
            resp = conn.getresponse()
            resp.read(MAX_RESPONSE_BYTES)
        except (OSError, http.client.HTTPException) as exc:
            raise WebhookError(f"{type(exc).__name__}: {exc}"[:300], connection=True) from None
        finally:
            conn.close()
        if not 200 <= resp.status < 300:
            raise WebhookError(f"HTTP {resp.status} {resp.reason}"[:300], connection=False,
                               status=resp.status)
        return resp.status
