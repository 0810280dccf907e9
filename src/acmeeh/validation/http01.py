"""http-01 (RFC 8555 §8.3): fetch the key authorization from the identifier over HTTP.

Every hop is resolved, checked against the address policy and connected to that exact
address (no second resolution). Redirects go only to http/https on ports 80 or 443 (or
the configured http01 port over http), at most `max_redirects`, all within one deadline.
"""

from __future__ import annotations

import http.client
import io
import re
import ssl
import time
from typing import Any
from urllib.parse import urljoin, urlsplit

from acmeeh.config.settings import Http01Settings
from acmeeh.protocol import problems

from .attempt import ValidationAttempt
from .network import (
    AddressPolicy,
    Transient,
    connect,
    describe_os_error,
    is_transient,
    literal_address,
    resolve_target,
)
from .resolver import Resolver

WELL_KNOWN = "/.well-known/acme-challenge/"
# RFC 8555 §8.3: the token is base64url; anything else could escape the well-known path.
TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
REDIRECTS = frozenset({301, 302, 303, 307, 308})
REDIRECT_PORTS = frozenset({80, 443})
USER_AGENT = "acmeeh-validation/1"
_BAD_URL_CHARS = re.compile(r"[\x00-\x20\x7f]")


def validate(attempt: ValidationAttempt, settings: Http01Settings) -> None:
    """Pass silently when the body matches the key authorization; raise Problem otherwise."""
    if not TOKEN.match(attempt.token):
        raise problems.malformed("challenge token is not base64url")
    url = challenge_url(attempt.identifier.value, settings.port, attempt.token)
    records = attempt.records
    status, body = fetch(url, resolver=attempt.resolver, policy=attempt.policy,
                         settings=settings, records=records)
    if status != 200:
        raise problems.incorrect_response(f"{records[-1]['url']} returned HTTP status {status}")
    if len(body) > settings.max_body_bytes:
        raise problems.incorrect_response(
            f"response from {records[-1]['url']} is larger than {settings.max_body_bytes} bytes"
        )
    # RFC 8555 §8.3: "The server SHOULD ignore whitespace characters at the end of the body."
    if body.rstrip(b" \t\r\n") != attempt.key_authorization.encode("ascii", "replace"):
        raise problems.incorrect_response(
            f"the key authorization from {records[-1]['url']} is wrong, got {printable(body)!r}"
        )


def challenge_url(host: str, port: int, token: str) -> str:
    """http://host[:port]/.well-known/acme-challenge/token, IPv6 literals in brackets."""
    address = literal_address(host)
    if address is not None and address.version == 6:
        host = f"[{address}]"
    suffix = "" if port == 80 else f":{port}"
    return f"http://{host}{suffix}{WELL_KNOWN}{token}"


def fetch(
    url: str, *, resolver: Resolver, policy: AddressPolicy, settings: Any, records: list[dict]
) -> tuple[int, bytes]:
    """GET `url`, following allowed redirects; returns (status, up to max_body_bytes+1 bytes).

    Appends one record per hop. Raises dns / connection / tls problems.
    """
    deadline = time.monotonic() + float(settings.timeout_seconds)
    for _ in range(settings.max_redirects + 1):
        status, location, body = _get(url, resolver, policy, settings, deadline, records)
        if status not in REDIRECTS:
            return status, body
        if not location:
            raise problems.incorrect_response(f"{url} redirected without a Location header")
        url = _redirect_target(url, location, settings.port)
    raise problems.connection(f"too many redirects (more than {settings.max_redirects})")


def _redirect_target(current: str, location: str, http_port: int) -> str:
    """The absolute redirect URL, or `connection` if we will not follow it."""
    target = urljoin(current, location.strip())
    if _BAD_URL_CHARS.search(target):
        raise problems.connection(f"invalid redirect target {printable(target.encode())!r}")
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https"):
        raise problems.connection(
            f"redirect to unsupported scheme in {printable(target.encode())!r}"
        )
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise problems.connection(
            f"invalid port in redirect to {printable(target.encode())!r}"
        ) from None
    if not parts.hostname:
        raise problems.connection(f"redirect to {printable(target.encode())!r} has no host")
    # RFC 8555 §8.3 + CA/B practice: only the standard ports; the configured port stays
    # reachable over http so a non-standard test setup can redirect within itself.
    if port not in REDIRECT_PORTS and not (parts.scheme == "http" and port == http_port):
        raise problems.connection(f"redirect to port {port} is not allowed ({target[:200]})")
    return target


def _get(
    url: str,
    resolver: Resolver,
    policy: AddressPolicy,
    settings: Any,
    deadline: float,
    records: list[dict],
) -> tuple[int, str | None, bytes]:
    parts = urlsplit(url)
    https = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if https else 80)
    record: dict = {"url": url, "hostname": host, "port": port, "addressesResolved": []}
    records.append(record)
    addresses = resolve_target(host, resolver, policy, deadline, record)
    sock = connect(addresses, port, deadline, record)
    try:
        if https:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            sock = _tls_client().wrap_socket(
                sock, server_hostname=None if literal_address(host) is not None else host
            )
        request = _request_bytes(parts.path or "/", parts.query, host, port, https)
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        sock.sendall(request)
        response = http.client.HTTPResponse(_DeadlineSocket(sock, deadline), method="GET")  # type: ignore[arg-type]
        response.begin()
        if response.status in REDIRECTS:
            return response.status, response.getheader("Location"), b""
        return response.status, None, response.read(settings.max_body_bytes + 1)
    except ssl.SSLError as exc:
        raise problems.tls(
            f"TLS error fetching {url}: {exc.reason or describe_os_error(exc)}"
        ) from None
    except TimeoutError:
        raise Transient(problems.connection(
            f"timeout fetching {url} (limit {settings.timeout_seconds}s in total)"
        )) from None
    except http.client.IncompleteRead:
        raise problems.connection(f"connection closed early fetching {url}") from None
    except (http.client.HTTPException, UnicodeError) as exc:
        raise problems.connection(
            f"invalid HTTP response from {url}: {type(exc).__name__}"
        ) from None
    except OSError as exc:
        problem = problems.connection(f"{describe_os_error(exc)} fetching {url}")
        raise (Transient(problem) if is_transient(exc) else problem) from None
    finally:
        sock.close()


def _request_bytes(path: str, query: str, host: str, port: int, https: bool) -> bytes:
    address = literal_address(host)
    host_header = f"[{address}]" if address is not None and address.version == 6 else host
    if port != (443 if https else 80):
        host_header += f":{port}"
    target = path + (f"?{query}" if query else "")
    lines = [
        f"GET {target} HTTP/1.1",
        f"Host: {host_header}",
        f"User-Agent: {USER_AGENT}",
        "Accept: */*",
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii", "replace")


def _tls_client() -> ssl.SSLContext:
    # RFC 8555 §8.3: the server follows HTTPS redirects without checking the certificate.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class _DeadlineReader(io.RawIOBase):
    """Raw socket reader whose every read is bounded by the shared deadline."""

    def __init__(self, sock: Any, deadline: float) -> None:
        self._sock, self._deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("validation deadline passed")
        self._sock.settimeout(remaining)
        return self._sock.recv_into(buffer)


class _DeadlineSocket:
    """What http.client.HTTPResponse needs from a socket: makefile("rb")."""

    def __init__(self, sock: Any, deadline: float) -> None:
        self.sock, self.deadline = sock, deadline

    def makefile(self, mode: str, *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self.sock, self.deadline))


def printable(data: bytes, limit: int = 100) -> str:
    """First `limit` characters of `data`, non-printables replaced, for problem details."""
    text = data[: limit * 4].decode("utf-8", "replace")
    shown = "".join(c if c.isprintable() else "?" for c in text[:limit])
    return shown + ("..." if len(text) > limit else "")
