"""A lean keep-alive HTTP/1.1 session for the load generator, on http.client.

`requests` costs the client about half of its CPU per issuance; on a small machine the client
shares the cores with the server, so its cost lowers the server's measured ceiling. AcmeClient
takes any session with requests' `request(method, url, ...)` shape; this one implements just
what AcmeClient and the flows use (status_code, headers, text, json(), url, request.method)
over one connection per host. A connection the server closed while idle is noticed before
reuse (as urllib3 does), so a request is never silently retried: a dropped connection is an error.
"""

from __future__ import annotations

import http.client
import json
import select
import ssl
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import requests


class Response:
    """The parts of requests.Response that AcmeClient and the flows read."""

    def __init__(
        self, method: str, url: str, status: int, headers: http.client.HTTPMessage, body: bytes
    ) -> None:
        self.status_code = status
        self.headers = headers  # email.message.Message: case-insensitive get / [] / in
        self.content = body
        self.url = url
        self.request = SimpleNamespace(method=method)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """True if an idle connection was closed by the peer (readable with nothing pending = EOF)."""
    sock = conn.sock
    if sock is None:
        return False
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


class Session:
    """requests.Session look-alike: `request(method, url, data=, headers=, timeout=)`."""

    trust_env = False
    verify: bool | str = True

    def __init__(self) -> None:
        self._conns: dict[tuple[str, str, int], http.client.HTTPConnection] = {}

    def _connection(
        self, scheme: str, host: str, port: int, timeout: float
    ) -> http.client.HTTPConnection:
        key = (scheme, host, port)
        conn = self._conns.get(key)
        if conn is not None and _dropped(conn):
            conn.close()
        if conn is None:
            if scheme == "https":
                context = ssl.create_default_context(
                    cafile=self.verify if isinstance(self.verify, str) else None
                )
                if self.verify is False:
                    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
                conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
            else:
                conn = http.client.HTTPConnection(host, port, timeout=timeout)
            self._conns[key] = conn
        conn.timeout = timeout
        return conn

    def request(
        self,
        method: str,
        url: str,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 15.0,
        allow_redirects: bool = False,
        **_ignored: Any,
    ) -> Response:
        """One request on the host's keep-alive connection; transport failures raise
        requests.ConnectionError / requests.Timeout so callers handle them as with requests."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise requests.exceptions.InvalidURL(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        conn = self._connection(parts.scheme, parts.hostname, port, timeout)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request(method, path, body=data, headers=headers or {})
            answer = conn.getresponse()
            body = answer.read()
        except TimeoutError as exc:
            conn.close()
            raise requests.Timeout(f"{method} {url}: {exc}") from exc
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise requests.ConnectionError(f"{method} {url}: {exc!r}") from exc
        if answer.will_close:
            conn.close()
        return Response(method, url, answer.status, answer.headers, body)

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()
