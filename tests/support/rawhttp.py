"""HTTP/1.1 over a raw socket, for framings `requests` will not send: a chunked body that
keeps coming while the server has already decided (RFC 9112 §7.1)."""
from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

TIMEOUT_SECONDS = 20.0
MAX_RESPONSE_BYTES = 1 << 20


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes
    send_error: str | None = None  # what sending the body ran into, if anything
    sent: int = 0  # body bytes the socket accepted
    raw: bytes = field(default=b"", repr=False)

    def json(self) -> dict:
        return json.loads(self.body)


def chunks(total: int, size: int = 8192, fill: bytes = b"A") -> Iterator[bytes]:
    """`total` bytes of `fill` in chunks of `size`, each framed (RFC 9112 §7.1), then the
    last chunk."""
    left = total
    while left > 0:
        n = min(size, left)
        yield b"%x\r\n" % n + fill * n + b"\r\n"
        left -= n
    yield b"0\r\n\r\n"


def framed(body: bytes, size: int = 8192) -> Iterator[bytes]:
    """`body` as chunks of at most `size` bytes, then the last chunk."""
    for start in range(0, len(body), size):
        piece = body[start:start + size]
        yield b"%x\r\n" % len(piece) + piece + b"\r\n"
    yield b"0\r\n\r\n"


def request(url: str, method: str = "POST", *, headers: dict[str, str] | None = None,
            body: Iterable[bytes] = (), timeout: float = TIMEOUT_SECONDS) -> RawResponse:
    """Send the request line and headers, then every piece of `body` without reading, then
    read the whole response (the server closes or Content-Length says where it ends).
    A failure to send is recorded, not raised: the response may still be readable."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout)
    send_error, sent = None, 0
    try:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        try:
            for piece in body:
                sock.sendall(piece)
                sent += len(piece)
        except OSError as exc:
            send_error = f"{type(exc).__name__}: {exc}"
        raw = _read_all(sock, timeout)
    finally:
        sock.close()
    return _parse(raw, send_error, sent)


def _read_all(sock: socket.socket, timeout: float) -> bytes:
    data = bytearray()
    deadline = time.monotonic() + timeout
    while len(data) < MAX_RESPONSE_BYTES and time.monotonic() < deadline:
        chunk = sock.recv(65536)  # a reset raises here: the test then fails, as it should
        if not chunk:
            break
        data += chunk
        head, sep, rest = bytes(data).partition(b"\r\n\r\n")
        if sep:
            length = _header(head, b"content-length")
            if length is not None and len(rest) >= int(length):
                break
    return bytes(data)


def _header(head: bytes, name: bytes) -> bytes | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return None


def _parse(raw: bytes, send_error: str | None, sent: int) -> RawResponse:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines or len(lines[0].split(" ")) < 2:
        raise AssertionError(f"no HTTP response (send: {send_error}): {raw[:200]!r}")
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return RawResponse(int(lines[0].split(" ")[1]), headers, body, send_error, sent, raw)
