"""Request bodies over server.max_body_bytes, however they are framed (RFC 9112 §6).

A WSGI middleware in front of the whole application, so the ACME API, the admin API and the
OCSP responder see one rule:

- A chunked body has no Content-Length to check up front. It is read here, counted as it
  arrives, and handed on as a body of known length; past the limit it is refused.
- A refused body (a Content-Length over the limit, or a chunked body that grew past it) is
  read and dropped, within a bound, before the application answers 413. A client that is
  still sending then reads the 413; had the server closed the connection with unread bytes
  in its receive buffer, the kernel would have answered with a reset and the client would
  have seen that instead.

The application sees an over-limit body as a Content-Length over the limit with nothing to
read, and answers 413 the way it answers any other (Flask's MAX_CONTENT_LENGTH, the ACME
envelope, the admin body check).
"""
from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable
from typing import IO, Any

READ_SIZE = 65536
DRAIN_BYTES = 8 << 20  # a refused body is read and dropped up to this much...
DRAIN_SECONDS = 10.0  # ...and for at most this long
_EMPTY: bytes = b""


def content_length(environ: dict[str, Any]) -> int | None:
    """The request's Content-Length, None when absent or not a number."""
    text = environ.get("CONTENT_LENGTH", "")
    return int(text) if text.isascii() and text.isdigit() else None


def is_chunked(environ: dict[str, Any]) -> bool:
    """A body framed by chunks, that the WSGI server de-chunks (wsgi.input_terminated)."""
    coding = environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    return "chunked" in coding and bool(environ.get("wsgi.input_terminated"))


def read_upto(stream: IO[bytes], limit: int) -> bytes:
    """At most `limit` bytes of `stream`, fewer only at its end (bounded: one read per 64 KiB)."""
    parts, size = [], 0
    for _ in range(limit // READ_SIZE + 2):
        if size >= limit:
            break
        chunk = stream.read(min(READ_SIZE, limit - size))
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return _EMPTY.join(parts)


def drain(stream: IO[bytes], budget: int, seconds: float = DRAIN_SECONDS) -> int:
    """Read and drop up to `budget` bytes of `stream` (until its end, or `seconds` passed);
    the number of bytes dropped."""
    deadline = time.monotonic() + seconds
    dropped = 0
    for _ in range(budget // READ_SIZE + 2):
        if dropped >= budget or time.monotonic() > deadline:
            break
        chunk = stream.read(min(READ_SIZE, budget - dropped))
        if not chunk:
            break
        dropped += len(chunk)
    return dropped


class BodyLimit:
    """WSGI middleware: bodies counted as they are read, refused past `limit` bytes."""

    def __init__(self, app: Callable[..., Any], limit: int) -> None:
        self.app = app
        self.limit = limit

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        stream = environ.get("wsgi.input")
        length = content_length(environ)
        if stream is None:
            return self.app(environ, start_response)
        if length is not None and length > self.limit:
            if length <= DRAIN_BYTES:  # a larger one cannot be read in time anyway
                drain(stream, length)
            environ["wsgi.input"] = io.BytesIO()
        elif length is None and is_chunked(environ):
            body = read_upto(stream, self.limit + 1)
            size = len(body)
            if size > self.limit:
                size += drain(stream, DRAIN_BYTES)
                body = _EMPTY
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(size)
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.app(environ, start_response)
